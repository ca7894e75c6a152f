// `npm run test:integration`: every suite, including *.integration.test.ts, against the real
// servers that scripts/test-integration/cli.ts starts (PostgreSQL 15, DynamoDB Local, s3rver).
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 60000,
  // One suite at a time: the lab and failover suites start whole fleets and time their faults.
  maxWorkers: 1,
};
