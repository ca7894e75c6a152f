// Names and rules that cross a boundary: between the app and its tools (bees, the lab, the game
// day, the service starters), the tests, and the deploy scripts. Each is defined here once and
// imported wherever it is used, so renaming one is a compile error at every use. The shell and
// Dockerfile sides, which cannot import it, are held to it by test/contracts.test.ts.

/** The session cookie: the app sets it, bees and the game day log in with it. */
export const sessionCookieName = 'cloudwiki.sid';

/** Node.js major version of every deployed runtime: the Docker image, EC2 user data, bees' EC2 agents. */
export const deployNodeMajor = 22;

/**
 * The environment of every production start of `node dist/app/server.js` (the Docker image, the
 * EC2 unit, `npm run start:prod`, the lab's instances, the benchmark); a cluster's workers inherit
 * it. Together they hold a worker near 170 MiB at its peak under load (docs/benchmarks.md):
 * - NODE_OPTIONS: without a cap, V8 sizes the heap from the machine's memory and lets garbage pile
 *   up to ~150 MiB between full collections. 192 MiB still holds the most a worker keeps alive:
 *   about 35 MiB of code and data, the page caches (pageCacheSizes in app/compose.ts) and the
 *   session cache.
 * - GLIBC_TUNABLES: a password hash (scrypt) allocates 16 MiB on a libuv thread. With glibc's
 *   sliding mmap threshold, every such block after the first comes from that thread's arena and
 *   stays resident after it is freed (about 60 MiB after a dozen sign-ups); a fixed 1 MiB
 *   threshold gives large blocks back to the system when they are freed.
 */
export const productionRuntimeEnv = {
  NODE_OPTIONS: '--max-old-space-size=192',
  GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1048576',
} as const;

/** "Who am I" for tools: 200 with `{ user: { username } }` when the session is logged in, `{ user: null }` otherwise. */
export const whoAmIPath = '/api/me';

/** The header on every response naming who answered: `<instance-id>/<az>`, plus `/w<N>` for a worker. */
export const servedByHeader = 'X-Served-By';

/** Shallow liveness for the load balancer and the Auto Scaling group; deep readiness for Route 53. */
export const healthPath = '/health';
export const deepHealthPath = '/health/deep';

/** Where a form carries its CSRF token, and the header a script may send it in instead. */
export const csrfField = '_csrf';
export const csrfHeader = 'X-CSRF-Token';

/**
 * The CSRF token for this client's forms (log in, sign up, save) as JSON, so tools need not read
 * it out of the HTML: 200 with `FormTokenResponse`; it may set the anonymous visitor cookie.
 */
export const formTokenPath = '/api/form-token';

/** The JSON API for pages: GET a slice (`?after=`), GET one, PUT one (JSON, logged in). */
export const apiPagesPath = '/api/pages';

export interface WhoAmIResponse {
  user: { username: string } | null;
}

export interface FormTokenResponse {
  csrfToken: string;
}

export interface PageResponse {
  slug: string;
  title: string;
  body: string;
  revision: number;
  /** ISO 8601. */
  updatedAt: string;
}

export interface PageListResponse {
  pages: { slug: string; title: string; revision: number; updatedAt: string }[];
  /** The `after` of the next slice; null at the end. */
  next: string | null;
}

/** PUT /api/pages/:slug: 201 created or 200 saved. */
export interface SavedPageResponse {
  slug: string;
  revision: number;
}

/** PUT /api/pages/:slug: 409, the page moved on (or does not exist) since `baseRevision`. */
export interface SaveConflictResponse {
  error: string;
  currentRevision: number | null;
}

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

/**
 * The static backup site's two fixed documents: S3 website hosting (infra/02-data.yaml, the lab's
 * s3rver) serves them as index and error documents, and app/backup writes them.
 */
export const backupSiteDocuments = { index: 'index.html', error: 'maintenance.html' } as const;

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
