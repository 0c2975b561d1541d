/**
 * The build's whitespace collapse of Lit `css` templates (vite.config.ts): smaller, same rules.
 */
import { describe, expect, it } from 'vitest';
import { minifyCssTemplates } from '../../vite.config.ts';

describe('minifyCssTemplates', () => {
  it('drops whitespace only, keeping selectors, quoted names, values and media queries', () => {
    const source = [
      'export const styles = css`',
      '  :host([open]) .panel > .log {',
      "    font: 15px/1.4 system-ui, 'Segoe UI', sans-serif;",
      '    box-shadow: 0 4px 14px rgb(0 0 0 / 0.25);',
      '  }',
      '  @media (max-width: 480px), (max-height: 700px) {',
      '    .panel { inset: 0; }',
      '  }',
      '`;',
    ].join('\n');
    expect(minifyCssTemplates(source)).toBe(
      "export const styles = css`:host([open]) .panel > .log{font:15px/1.4 system-ui,'Segoe UI',sans-serif;box-shadow:0 4px 14px rgb(0 0 0 / 0.25)}" +
        '@media (max-width:480px),(max-height:700px){.panel{inset:0}}`;',
    );
  });

  it('leaves a template with interpolations, and other code, as written', () => {
    const source = 'const a = css`\n  .x { color: ${red}; }\n`;\nconst b = `  keep  this  `;';
    expect(minifyCssTemplates(source)).toBe(source);
  });
});
