/**
 * The build's whitespace trims for the widget (vite.config.ts): Lit `css` templates collapsed, and
 * the indentation after line breaks dropped; smaller bundles, the same rules and markup.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { dropTemplateIndentation, minifyCssTemplates } from '../../vite.config.ts';

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
      "export const styles = css`:host([open]) .panel > .log{font:15px/1.4 system-ui,'Segoe UI',sans-serif;box-shadow:0 4px 14px rgb(0 0 0 / .25)}" +
        '@media (max-width:480px),(max-height:700px){.panel{inset:0}}`;',
    );
  });

  it('leaves a template with interpolations, and other code, as written', () => {
    const source = 'const a = css`\n  .x { color: ${red}; }\n`;\nconst b = `  keep  this  `;';
    expect(minifyCssTemplates(source)).toBe(source);
  });
});

describe('dropTemplateIndentation', () => {
  it('keeps each line break and drops only the indentation after it', () => {
    expect(dropTemplateIndentation('html`<div>\n      <p>${a}</p>\n    </div>`;\n  const b = 1;')).toBe('html`<div>\n<p>${a}</p>\n</div>`;\nconst b = 1;');
  });

  it('is safe for the widget: every multi-line template literal there is an html or css template', () => {
    const root = resolve(import.meta.dirname, '../../widget');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const offenders: string[] = [];
    let templates = 0;
    for (const file of files) {
      const source = ts.createSourceFile(file, readFileSync(resolve(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node): void => {
        if ((ts.isTemplateExpression(node) || ts.isNoSubstitutionTemplateLiteral(node)) && node.getText(source).includes('\n')) {
          const tag = ts.isTaggedTemplateExpression(node.parent) ? node.parent.tag.getText(source) : '';
          if (tag === 'html' || tag === 'css') templates++;
          else offenders.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(templates).toBeGreaterThan(5);
    expect(offenders).toEqual([]);
  });
});
