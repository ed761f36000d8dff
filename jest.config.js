/** @type {import('jest').Config} */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest reads a CommonJS config
const { compilerOptions } = require('./tsconfig.base.json');
const { paths } = compilerOptions;
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs', ignoreDynamic: true },
  sourceMaps: 'inline',
};

const project = {
  testEnvironment: 'node',
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/projections', '<rootDir>/test', '<rootDir>/bench'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  // The `@ledger/*` aliases are tsconfig.base.json's own, read from it rather than restated.
  moduleNameMapper: Object.fromEntries(
    Object.entries(paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]),
  ),
};

module.exports = {
  projects: [
    // Everything, on the Postgres event store (the default).
    { ...project, displayName: 'postgres' },
    // The end-to-end tests again with EVENT_STORE=eventstoredb: on the in-process EventStoreDB
    // test double, or on a real server when EVENTSTORE_CONNECTION_STRING is set.
    {
      ...project,
      displayName: 'eventstoredb',
      testMatch: [
        '<rootDir>/apps/api/test/commands.e2e.spec.ts',
        '<rootDir>/apps/api/test/read-models.e2e.spec.ts',
        '<rootDir>/apps/api/test/command-lifecycle.e2e.spec.ts',
        '<rootDir>/apps/api/test/workspace.e2e.spec.ts',
      ],
      setupFiles: ['<rootDir>/test/support/use-eventstoredb.ts'],
    },
  ],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Wide, for a busy machine: the slowest test on the default is about 10 s idle and several
  // times that beside other work. Heavier tests set their own; waits on a condition have their
  // own deadline (test/support/wait.ts), shorter than this, so that they fail with a message.
  testTimeout: 180_000,
  maxWorkers: 2,
};
