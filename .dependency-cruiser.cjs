// The dependency rules of docs/architecture.md, enforced on every `npm test`.
// Edges point one way: cli -> platform -> gateway -> {identity, policy, runtime, ...} -> {store, kernel}.
// A capability is entered only through its index.ts.
const CAPABILITIES = ['cli', 'platform', 'manifest', 'gateway', 'runtime', 'identity', 'policy', 'secrets', 'segmentation', 'audit', 'detect', 'privacy', 'scan', 'store', 'kernel'];

// Which capabilities each one may import (besides itself).
const ALLOWED = {
  cli: ['platform', 'manifest', 'runtime', 'scan', 'audit', 'policy', 'kernel'],
  platform: ['gateway', 'runtime', 'manifest', 'store', 'identity', 'policy', 'secrets', 'segmentation', 'audit', 'detect', 'privacy', 'kernel'],
  gateway: ['manifest', 'segmentation', 'kernel'],
  runtime: ['manifest', 'kernel'],
  identity: ['store', 'kernel'],
  policy: ['manifest', 'kernel'],
  secrets: ['store', 'kernel'],
  segmentation: ['manifest', 'kernel'],
  audit: ['store', 'kernel'],
  detect: ['store', 'kernel'],
  privacy: ['kernel'],
  scan: ['manifest', 'kernel'],
  manifest: ['kernel'],
  store: ['kernel'],
  kernel: [],
};

const forbidden = CAPABILITIES.map((from) => ({
  name: `${from}-edges`,
  comment: `${from} may import only: ${ALLOWED[from].join(', ') || 'nothing of ours'} (docs/architecture.md)`,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: { path: `^src/(${CAPABILITIES.filter((c) => c !== from && !ALLOWED[from].includes(c)).join('|')})/` },
}));

module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: 'no-deep-imports',
      comment: 'another capability is entered only through its index.ts',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/([^/]+)/.+', pathNot: ['^src/$1/', '^src/[^/]+/index\\.(ts|js)$'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'kernel-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^src/kernel/' },
      to: { path: '^src/(?!kernel/)' },
    },
    {
      name: 'no-test-runner-in-production',
      comment: 'node:test and test-support files are for tests only: they must not ship in a code path of the product',
      severity: 'error',
      from: { pathNot: '\\.test-support\\.ts$' },
      to: { path: ['^(node:)?test$', '\\.test-support\\.ts$'] },
    },
    {
      name: 'isolated-vm-through-its-loader',
      comment: 'no package named isolated-vm exists at run time: load it (value and types) from src/runtime/load-isolated-vm.ts',
      severity: 'error',
      from: { pathNot: '^src/runtime/load-isolated-vm\\.ts$' },
      to: { path: '^isolated-vm' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
