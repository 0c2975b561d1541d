/**
 * Bundle sizes (min + gzip) of what the bank's page and the vault frame load, each beside a
 * baseline built the same way in the same run.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const root = resolve(import.meta.dirname, '..');

export interface SizeRow {
  name: string;
  bytes: number;
  gzip: number;
  budget?: number;
  baseline?: string;
}

function measure(file: string): { bytes: number; gzip: number } {
  const buf = readFileSync(file);
  return { bytes: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
}

async function buildBaseline(entry: string, name: string): Promise<string> {
  const outDir = join(root, '.tmp/bench', name);
  await build({
    configFile: false,
    root,
    logLevel: 'silent',
    publicDir: false,
    build: {
      outDir,
      emptyOutDir: true,
      minify: true,
      target: 'es2022',
      lib: { entry: join(root, entry), formats: ['es'], fileName: () => `${name}.js` },
      rollupOptions: { output: { inlineDynamicImports: true } },
    },
  });
  return join(outDir, `${name}.js`);
}

function sum(rows: readonly { bytes: number; gzip: number }[]): { bytes: number; gzip: number } {
  return rows.reduce((a, b) => ({ bytes: a.bytes + b.bytes, gzip: a.gzip + b.gzip }), { bytes: 0, gzip: 0 });
}

/** The `./x.js` files `file` (in dist/widget) imports with a static `import … from`, recursively. */
function staticImports(file: string, seen = new Set<string>()): string[] {
  const text = readFileSync(distFile(`widget/${file}`), 'utf8');
  for (const [, name] of text.matchAll(/(?:^|[;}])\s*import\s*(?:[^'"`()]*?from\s*)?["'`]\.\/([^"'`]+\.js)["'`]/g)) {
    if (name && !seen.has(name)) {
      seen.add(name);
      staticImports(name, seen);
    }
  }
  return [...seen];
}

/** The `./x.js` files `file` loads with `import("./x.js")` that the first open does not already load. */
function dynamicImports(file: string): string[] {
  const first = new Set([file, ...staticImports(file)]);
  const found = [...first].flatMap((f) => [...readFileSync(distFile(`widget/${f}`), 'utf8').matchAll(/import\(["'`]\.\/([^"'`]+\.js)["'`]\)/g)].map((m) => m[1]!));
  return [...new Set(found)].filter((f) => !first.has(f));
}

function distFile(rel: string): string {
  const file = join(root, 'dist', rel);
  if (!existsSync(file)) throw new Error(`missing dist/${rel}: run "npm run build" first`);
  return file;
}

export async function runSizes(): Promise<SizeRow[]> {
  const lit = measure(await buildBaseline('bench/baselines/lit-hello.ts', 'lit-hello'));
  const joseComlink = measure(await buildBaseline('bench/baselines/jose-comlink.ts', 'jose-comlink'));
  const loader = measure(distFile('widget/loader.js'));
  // The first open loads secure-chat.js and the chunks it imports statically; the chunks it
  // imports only dynamically (the vault frame's host code) come with the first step.
  const firstOpen = ['secure-chat.js', ...staticImports('secure-chat.js')];
  const widget = sum(firstOpen.map((f) => measure(distFile(`widget/${f}`))));
  const stepChunks = dynamicImports('secure-chat.js');
  const steps = sum(stepChunks.map((f) => measure(distFile(`widget/${f}`))));
  const frameFiles = readdirSync(join(root, 'dist/vault')).filter((f) => f.endsWith('.js'));
  const frame = frameFiles
    .map((f) => measure(join(root, 'dist/vault', f)))
    .reduce((a, b) => ({ bytes: a.bytes + b.bytes, gzip: a.gzip + b.gzip }), { bytes: 0, gzip: 0 });
  return [
    { name: 'widget loader (runs at page load)', ...loader, budget: 2 * 1024, baseline: 'Stripe loader ≈ 1.5 KB gz (published)' },
    {
      name: 'widget total (loader + <secure-chat>, Lit included)',
      bytes: loader.bytes + widget.bytes,
      gzip: loader.gzip + widget.gzip,
      budget: 20 * 1024,
      baseline: `Lit hello-world ${kb(lit.gzip)} gz (this run)`,
    },
    { name: 'widget step code (loaded with the first step)', ...steps },
    { name: 'vault frame JS (jose, RPC, schemas, forms, passkey client)', ...frame, budget: 20 * 1024, baseline: `jose verify + remote JWKS + Comlink expose ${kb(joseComlink.gzip)} gz (this run)` },
    { name: 'baseline: Lit hello-world', ...lit },
    { name: 'baseline: jose + Comlink alone', ...joseComlink },
  ];
}

export function kb(n: number): string {
  return `${(n / 1024).toFixed(1)} KB`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await runSizes()) {
    console.log(`${row.name.padEnd(56)} ${kb(row.bytes).padStart(9)} min  ${kb(row.gzip).padStart(8)} gz${row.budget ? `  (budget ${kb(row.budget)})` : ''}`);
  }
}
