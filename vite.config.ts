/**
 * One Vite config, one build per realm (`vite build --mode <realm>`), so that no chunk is ever
 * shared between the bank-page bundles and the vault's: the vault's scripts are built alone and
 * served only from the vault origin.
 *
 *   loader   widget/loader.ts                 -> dist/widget/loader.js      (IIFE, runs at page load)
 *   widget   widget/secure-chat/index.ts      -> dist/widget/secure-chat.js (ES module, loaded on idle)
 *   console  widget/console/index.ts          -> dist/console/console.js    (agent console)
 *   vault    vault/frame/main.ts              -> dist/vault/frame.js        (vault frame)
 *
 * Vitest reads the `test` block.
 */
import { defineConfig } from 'vitest/config';

type Realm = 'loader' | 'widget' | 'console' | 'vault';

const entries: Record<Realm, { entry: string; outDir: string; fileName: string; format: 'es' | 'iife' }> = {
  loader: { entry: 'widget/loader.ts', outDir: 'dist/widget', fileName: 'loader.js', format: 'iife' },
  widget: { entry: 'widget/secure-chat/index.ts', outDir: 'dist/widget', fileName: 'secure-chat.js', format: 'es' },
  console: { entry: 'widget/console/index.ts', outDir: 'dist/console', fileName: 'console.js', format: 'es' },
  // IIFE: Vite leaves whitespace unminified in ES library builds; the frame is a classic script.
  vault: { entry: 'vault/frame/main.ts', outDir: 'dist/vault', fileName: 'frame.js', format: 'iife' },
};

/**
 * Collapses the whitespace of Lit `css` templates in `*.styles.ts` files: the bank page pays for
 * every byte of the widget (docs/design.md budgets), and a template literal is shipped as written.
 * Only whitespace goes (runs become one space; none around `{ } ; ,` nor after `:`), the `;`
 * before a `}` and the leading zero of a fraction (`0.25` -> `.25`), so selectors, quoted font
 * names and values read the same. A template with `${...}`
 * is left as it is.
 */
export function minifyCssTemplates(code: string): string {
  return code.replace(/css`([^`]*)`/g, (whole, body: string) =>
    body.includes('${') ? whole : `css\`${body.replace(/\s+/g, ' ').replace(/\s*([{};,])\s*/g, '$1').replace(/:\s+/g, ':').replace(/;}/g, '}').replace(/(^|[^\w.])0\.(\d)/g, '$1.$2').trim()}\``,
  );
}

/**
 * Drops the indentation after line breaks in the browser code of widget/: in code the minifier
 * drops it anyway; inside Lit `html` templates a line break stays, so HTML's whitespace rules
 * render the same (the widget has no multi-line template of any other kind and no `pre` text in
 * a template's static parts; test/tooling/css-minify.test.ts checks both).
 */
export function dropTemplateIndentation(code: string): string {
  return code.replace(/\n[ \t]+/g, '\n');
}

export default defineConfig(({ mode }) => {
  const realm = (mode in entries ? mode : 'widget') as Realm;
  const e = entries[realm];
  return {
    // No public dir, no index.html: every build is a library-style bundle of one entry.
    publicDir: false,
    plugins: [
      {
        name: 'minify-css-templates',
        apply: 'build',
        transform: (code: string, id: string) => (id.endsWith('.styles.ts') ? { code: minifyCssTemplates(code), map: null } : null),
      },
      {
        name: 'drop-template-indentation',
        apply: 'build',
        transform: (code: string, id: string) => (/[\\/]widget[\\/].*\.ts$/.test(id) ? { code: dropTemplateIndentation(code), map: null } : null),
      },
    ],
    build: {
      outDir: e.outDir,
      // loader and widget share dist/widget: never wipe the other's output.
      emptyOutDir: false,
      target: 'es2022',
      minify: true,
      sourcemap: false,
      modulePreload: false,
      reportCompressedSize: false,
      lib: {
        entry: e.entry,
        formats: [e.format],
        fileName: () => e.fileName,
        name: e.format === 'iife' ? 'SecurePivotChatLoader' : undefined,
      },
      rollupOptions: {
        // Lib mode leaves ES output unminified (whitespace, comments) for re-bundling; these are
        // final browser bundles measured min+gzip, so minify them fully.
        // The widget loads the vault frame's host code when the first step needs it (a chunk of
        // its own beside secure-chat.js); every other realm is one file.
        output: {
          codeSplitting: realm === 'widget',
          chunkFileNames: 'secure-chat-[hash].js',
          minify: true,
          comments: false,
        },
      },
    },
    define: {
      // Dev-only warnings compile out of production builds.
      'import.meta.env.DEV': JSON.stringify(false),
    },
    test: {
      include: ['test/**/*.test.ts'],
      exclude: ['test/e2e/**', 'node_modules/**'],
      environment: 'node',
      testTimeout: 20_000,
      hookTimeout: 30_000,
      pool: 'forks',
      reporters: process.env.CI ? ['default', 'json'] : ['default'],
      outputFile: process.env.CI ? { json: 'test-results/unit.json' } : undefined,
    },
  };
});
