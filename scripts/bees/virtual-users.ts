import { whoAmIPath } from '../../app/contracts';
import type { LoginPlan } from './spec';

/**
 * One virtual user's cookies. Every bee attacks a single origin, so name → value is all a jar
 * needs; attributes (Path, Expires) are ignored and a cookie is replaced when the server resends it.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  constructor(initial: Record<string, string> = {}) {
    for (const [name, value] of Object.entries(initial)) this.cookies.set(name, value);
  }

  absorb(setCookieHeaders: readonly string[]): void {
    for (const header of setCookieHeaders) {
      const pair = header.split(';', 1)[0] ?? '';
      const equals = pair.indexOf('=');
      if (equals <= 0) continue;
      this.cookies.set(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim());
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export interface VirtualUser {
  number: number;
  username: string;
  jar: CookieJar;
}

const csrfInput = /<input\b[^>]*\bname="_csrf"[^>]*>/i;
const valueAttribute = /\bvalue="([^"]*)"/i;

function csrfTokenFrom(html: string, url: string): string {
  const input = csrfInput.exec(html)?.[0];
  const token = input && valueAttribute.exec(input)?.[1];
  if (!token) throw new Error(`no hidden _csrf input in the form at ${url}: is this a cloudwiki server?`);
  return token;
}

/** The username the app says this jar's session is logged in as, or null: cloudwiki's answer for tools. */
async function whoAmI(baseUrl: string, jar: CookieJar): Promise<string | null> {
  const url = new URL(whoAmIPath, baseUrl).toString();
  const response = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json', cookie: jar.header() } });
  if (response.status !== 200) {
    await response.arrayBuffer();
    throw new Error(`GET ${url} answered ${response.status}; expected 200 with { user } (is this a cloudwiki server?)`);
  }
  const body = (await response.json()) as { user?: { username?: unknown } | null };
  return typeof body.user?.username === 'string' ? body.user.username : null;
}

/**
 * Walks the form flow a browser does (GET the form for its CSRF token and cookie, POST it back
 * with the credentials), keeps the resulting session cookie and asks the app who that session
 * is, so the attack's requests carry a real, logged-in session that the store has to look up.
 */
export async function logIn(baseUrl: string, mode: LoginPlan['mode'], username: string, password: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const formUrl = new URL(`/${mode}`, baseUrl).toString();
  const form = await fetch(formUrl, { redirect: 'manual' });
  if (form.status !== 200) throw new Error(`GET ${formUrl} answered ${form.status}; expected the ${mode} form`);
  jar.absorb(form.headers.getSetCookie());
  const token = csrfTokenFrom(await form.text(), formUrl);
  const post = () =>
    fetch(formUrl, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
      body: new URLSearchParams({ username, password, _csrf: token }).toString(),
    });
  let posted = await post();
  // The app checks one password per client address at a time and bounds its hashing queue: a
  // refusal that says to retry within seconds (429 or 503 with a short Retry-After) is a turn to
  // wait for, not a failed log-in. Long waits (an hourly sign-up limit) still fail at once.
  for (let retries = 0; retries < 30 && retryAfterSeconds(posted) !== undefined; retries += 1) {
    await posted.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, retryAfterSeconds(posted)! * 1000));
    posted = await post();
  }
  jar.absorb(posted.headers.getSetCookie());
  await posted.arrayBuffer();
  if (posted.status !== 303) {
    throw new Error(
      `POST ${formUrl} as ${username} answered ${posted.status}; expected 303 and a session ` +
        `(check the password rules and, for login, that the user exists)`,
    );
  }
  const loggedInAs = await whoAmI(baseUrl, jar);
  if (loggedInAs !== username) {
    throw new Error(
      `after POST ${formUrl} as ${username}, ${whoAmIPath} answers ${loggedInAs === null ? 'that nobody' : `that ${loggedInAs}`} is logged in`,
    );
  }
  return jar;
}

function retryAfterSeconds(response: Response): number | undefined {
  if (response.status !== 429 && response.status !== 503) return undefined;
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds >= 0 && seconds <= 5 ? Math.max(seconds, 0.2) : undefined;
}

/** Usernames stay within the contract: 3–32 of letters, digits, `_` and `-`. */
function signupName(runId: string, bee: number, number: number): string {
  return `bee${bee}-${runId}-${number}`.slice(0, 32);
}

const setupConcurrency = 8;

/** Signs up (or logs in) one user per connection, a few at a time so setup is not itself a spike. */
export async function prepareVirtualUsers(
  baseUrl: string,
  plan: LoginPlan,
  count: number,
  runId: string,
  bee: number,
): Promise<VirtualUser[]> {
  const users: VirtualUser[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const number = next++;
      const username = plan.mode === 'signup' ? signupName(runId, bee, number) : pickListed(plan.users ?? [], bee, number, count);
      users[number] = { number, username, jar: await logIn(baseUrl, plan.mode, username, plan.password) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(setupConcurrency, count) }, worker));
  return users;
}

function pickListed(users: readonly string[], bee: number, number: number, perBee: number): string {
  if (users.length === 0) throw new Error('login mode needs a list of existing usernames (scenario "login.users")');
  return users[(bee * perBee + number) % users.length] as string;
}
