// Names and rules that cross a boundary: between the app and its tools (bees, the lab, the game
// day, the service starters), the tests, and the deploy scripts. Each is defined here once and
// imported wherever it is used, so renaming one is a compile error at every use. The shell and
// Dockerfile sides, which cannot import it, are held to it by test/contracts.test.ts.

/** The session cookie: the app sets it, bees and the game day log in with it. */
export const sessionCookieName = 'cloudwiki.sid';

/** Node.js major version of every deployed runtime: the Docker image, EC2 user data, bees' EC2 agents. */
export const deployNodeMajor = 22;

/** "Who am I" for tools: 200 with `{ user: { username } }` when the session is logged in, `{ user: null }` otherwise. */
export const whoAmIPath = '/api/me';

/**
 * The local stand-ins for AWS (npm start, the services, the lab, the tests) use fixed names so
 * every process finds the same data. The credentials are s3rver's built-in pair (it checks
 * signatures against them; dynalite and DynamoDB Local accept any): not secrets, useless on AWS.
 */
export const local = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  sessionTable: 'cloudwiki-sessions',
  buckets: { assets: 'cloudwiki-assets', uploads: 'cloudwiki-uploads' },
} as const;

/** What a page save accepts, in the HTML form and the JSON API alike. */
export const pageRules = {
  bodyMaxChars: 100_000,
  summaryMaxChars: 200,
} as const;

/** PostgreSQL's integer: a larger revision number would fail in the database rather than at the door. */
const revisionMax = 2_147_483_647;

/** A revision number from a URL, form field or JSON value; null when it is not one. */
export function parseRevision(value: unknown): number | null {
  const revision = typeof value === 'number' ? value : /^\d{1,10}$/.test(String(value ?? '')) ? Number(value) : NaN;
  return Number.isInteger(revision) && revision >= 1 && revision <= revisionMax ? revision : null;
}

const uploadMaxMiB = 5;
export const uploadRules = {
  maxBytes: uploadMaxMiB * 1024 * 1024,
  /** The same limit as people read it in the page's upload form and in errors. */
  maxLabel: `${uploadMaxMiB} MB`,
} as const;
