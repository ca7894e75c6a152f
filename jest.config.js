// Unit and route tests run in-process against the embedded services that
// test/setup/global-setup.ts starts once for the whole run.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '\\.integration\\.test\\.ts$'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // These dependencies ship only as ES modules; swc turns them into CommonJS for jest's loader.
  transformIgnorePatterns: [
    '/node_modules/(?!(node-pg-migrate|file-type|strtok3|token-types|peek-readable|@tokenizer|@borewit|uint8array-extras)/)',
  ],
  // file-type offers only `import` conditions, which jest's CommonJS resolver does not follow.
  moduleNameMapper: { '^file-type$': '<rootDir>/node_modules/file-type/index.js' },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 20000,
  // Jest's default on a 2-core machine is one worker; many suites here wait on child processes
  // (the bootstrap harness, bees, servers draining), so a second worker fills the idle core.
  maxWorkers: '100%',
};
