/**
 * The layout's import rule (README "Layout"), checked by `npm run depcruise` and CI.
 * Type-only imports count: a type import against the flow couples the modules just the same.
 *
 *   common/platform   settings, errors, logging, clients, lifecycle: nothing of the project outside itself
 *   common/contracts  what several modules share: only common/platform and itself
 *   inventory, orders peers: only common/** and themselves, never each other
 *   gateway           common, inventory, orders and itself
 *   web               the pages and the typed client: only common/contracts and itself, no Node built-ins
 *   scripts           process entry points and tools: anything but the tests
 *   test              anything; nothing else imports it
 */
const local = ['local'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules form no cycle: each layer can be read, tested and changed from the bottom up.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'platform-is-self-contained',
      comment: 'common/platform imports nothing of the project outside itself.',
      severity: 'error',
      from: { path: '^common/platform/' },
      to: { dependencyTypes: local, pathNot: '^common/platform/' },
    },
    {
      name: 'contracts-on-platform-only',
      comment: 'common/contracts imports only common/platform and itself.',
      severity: 'error',
      from: { path: '^common/contracts/' },
      to: { dependencyTypes: local, pathNot: '^common/(platform|contracts)/' },
    },
    {
      name: 'inventory-on-common-only',
      comment: 'inventory imports only common/** and itself: never orders (its peer), gateway, web or scripts.',
      severity: 'error',
      from: { path: '^inventory/' },
      to: { dependencyTypes: local, pathNot: '^(common|inventory)/' },
    },
    {
      name: 'orders-on-common-only',
      comment: 'orders imports only common/** and itself: never inventory (its peer), gateway, web or scripts.',
      severity: 'error',
      from: { path: '^orders/' },
      to: { dependencyTypes: local, pathNot: '^(common|orders)/' },
    },
    {
      name: 'gateway-below-scripts',
      comment: 'gateway imports common, inventory, orders and itself: never scripts, web, test or load-tests.',
      severity: 'error',
      from: { path: '^gateway/' },
      to: { dependencyTypes: local, pathNot: '^(common|inventory|orders|gateway)/' },
    },
    {
      name: 'web-on-contracts-only',
      comment: 'web (the pages and the typed client) imports only common/contracts and itself.',
      severity: 'error',
      from: { path: '^web/' },
      to: { dependencyTypes: local, pathNot: '^(common/contracts|web)/' },
    },
    {
      name: 'web-without-node',
      comment: 'web runs in the browser: no Node built-ins.',
      severity: 'error',
      from: { path: '^web/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'tests-only-from-tests',
      comment: 'Nothing but test/ imports test/.',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'load-tests-only-from-load-tests',
      comment: 'The benchmarks are tools: no module, process or test depends on them.',
      severity: 'error',
      from: { pathNot: '^load-tests/' },
      to: { path: '^load-tests/' },
    },
    {
      name: 'no-dev-dependencies-at-run-time',
      comment:
        'What the built processes run is installed with npm ci --omit=dev: it imports no devDependency (types excepted). The pages (web/ui/ and the page entries) are bundled into dist/public at build time, so their packages are build inputs.',
      severity: 'error',
      from: {
        path: ['^(common|gateway|inventory|orders|web)/', '^scripts/(gateway|relay|writer|sweeper|audit|report|seed-main|seed)\\.ts$'],
        pathNot: ['^web/ui/', '^web/(app|shop|host|ops)\\.ts$'],
      },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every import resolves (k6 scripts import modules the k6 runtime provides).',
      severity: 'error',
      from: { pathNot: '^load-tests/k6/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
