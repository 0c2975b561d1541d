/**
 * The import rules of the trust zones (ARCHITECTURE.md, "Import rules"). `npm run lint:deps`
 * fails on any violation; test/tooling/import-rules.test.ts proves each rule can fail.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'protocol-imports-no-project-code',
      comment: 'protocol/ holds the contracts of every boundary and imports no project code.',
      severity: 'error',
      from: { path: '^protocol/' },
      to: { path: '^(widget|vault|server|demo|scripts|test|bench)/' },
    },
    {
      name: 'vault-imports-only-protocol',
      comment: 'vault/ is the PCI scope: it may import only vault/ and protocol/ (and packages).',
      severity: 'error',
      from: { path: '^vault/' },
      to: { path: '^(widget|server|demo|scripts|test|bench)/' },
    },
    {
      name: 'nothing-imports-vault',
      comment: 'Nothing outside vault/ imports vault/ code (tests of the vault excepted).',
      severity: 'error',
      from: { path: '^(protocol|widget|server|demo|scripts|bench)/' },
      to: { path: '^vault/' },
    },
    {
      name: 'widget-imports-only-protocol',
      comment: 'widget/ runs in the bank page: never server/ or vault/ code.',
      severity: 'error',
      from: { path: '^widget/' },
      to: { path: '^(vault|server|demo|scripts|test|bench)/' },
    },
    {
      name: 'server-imports-only-protocol',
      comment: 'The chat server has no vault code, keys or database: it talks to the vault over HTTP.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^(vault|widget|demo|scripts|test|bench)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that does not resolve would escape every rule above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|data)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.json'],
    },
  },
};
