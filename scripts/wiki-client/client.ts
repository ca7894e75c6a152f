import { CookieJar } from 'tough-cookie';
import {
  apiPagesPath,
  csrfField,
  formTokenPath,
  servedByHeader,
  whoAmIPath,
  type FormTokenResponse,
  type PageListResponse,
  type PageResponse,
  type SaveConflictResponse,
  type SavedPageResponse,
  type WhoAmIResponse,
} from '../../app/contracts';

// The one way the tools (bees, the game day, the lab, the static site) and the tests talk to a
// running wiki: typed against the app's own contracts, so a renamed field or route is a compile
// error in every tool rather than a silent 404 in one of them. It reads JSON, never the HTML.

/** Who answered a response, from its X-Served-By header: `<instance>/<az>[/w<worker>]`. */
export interface ServedBy {
  instance: string;
  az: string;
  worker?: number;
}

export function servedBy(response: Pick<Response, 'headers'>): ServedBy | null {
  const [instance, az, worker] = (response.headers.get(servedByHeader) ?? '').split('/');
  if (!instance || az === undefined) return null;
  return { instance, az, ...(worker?.startsWith('w') ? { worker: Number(worker.slice(1)) } : {}) };
}

export type LoginMode = 'login' | 'signup';

export interface SaveEdit {
  body: string;
  summary?: string;
  /** The revision the edit starts from; null creates the page. */
  baseRevision: number | null;
}

export type SaveOutcome =
  { status: 200 | 201; saved: SavedPageResponse } | { status: 409; conflict: SaveConflictResponse } | { status: number; error: string };

export interface WikiClientOptions {
  /** Each request's bound; a wiki that does not answer within it counts as not answering. */
  timeoutMs?: number;
}

const maxLoginRetries = 30;

/** Seconds a 429 or 503 asks to wait when that is a few seconds at most; undefined otherwise. */
function shortRetryAfterSeconds(response: Response): number | undefined {
  if (response.status !== 429 && response.status !== 503) return undefined;
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds >= 0 && seconds <= 5 ? Math.max(seconds, 0.2) : undefined;
}

/** One visitor of one wiki, with its own cookies: log in once, then read and save as that person. */
export class WikiClient {
  private readonly jar = new CookieJar();
  /** The Cookie header, kept between changes: load generators send it on every request. */
  private cookies: string | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly options: WikiClientOptions = {},
  ) {}

  /** The Cookie header this visitor sends. */
  cookieHeader(): string {
    return (this.cookies ??= this.jar.getCookieStringSync(this.baseUrl));
  }

  /** Keeps what the wiki set (a renewed or rotated session cookie, say). */
  absorb(setCookieHeaders: readonly string[]): void {
    if (setCookieHeaders.length === 0) return;
    for (const header of setCookieHeaders) this.jar.setCookieSync(header, this.baseUrl, { ignoreError: true });
    this.cookies = undefined;
  }

  /** A request with this visitor's cookies; the cookies it sets are kept. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader();
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(new URL(path, this.baseUrl), {
      redirect: 'manual',
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      ...init,
      headers,
    });
    this.absorb(response.headers.getSetCookie());
    return response;
  }

  async whoAmI(): Promise<WhoAmIResponse> {
    return this.json<WhoAmIResponse>(whoAmIPath, 'a cloudwiki answers { user }');
  }

  /**
   * Signs up or logs in through the same form post a browser makes (with the token from
   * /api/form-token instead of the page), then checks with the wiki that the session is this user.
   */
  async logIn(mode: LoginMode, username: string, password: string): Promise<void> {
    const { csrfToken } = await this.json<FormTokenResponse>(formTokenPath, 'a cloudwiki answers { csrfToken }');
    const post = () =>
      this.request(`/${mode}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username, password, [csrfField]: csrfToken }).toString(),
      });
    let response = await post();
    // The wiki checks one password per client address at a time and bounds its hashing queue: a
    // refusal that says to retry within seconds (429 or 503 with a short Retry-After) is a turn to
    // wait for, not a failed log-in. Long waits (an hourly sign-up limit) still fail at once.
    for (let retries = 0; retries < maxLoginRetries && shortRetryAfterSeconds(response) !== undefined; retries += 1) {
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, shortRetryAfterSeconds(response)! * 1000));
      response = await post();
    }
    await response.arrayBuffer();
    if (response.status !== 303) {
      throw new Error(
        `POST /${mode} as ${username} answered ${response.status}; expected 303 and a session ` +
          `(check the password rules and, for login, that the user exists)`,
      );
    }
    const { user } = await this.whoAmI();
    if (user?.username !== username)
      throw new Error(`after POST /${mode} as ${username}, ${whoAmIPath} answers that ${user ? user.username : 'nobody'} is logged in`);
  }

  async getPage(slug: string): Promise<PageResponse | null> {
    const response = await this.request(`${apiPagesPath}/${encodeURIComponent(slug)}`, { headers: { accept: 'application/json' } });
    if (response.status === 404) {
      await response.arrayBuffer();
      return null;
    }
    return this.parsed<PageResponse>(response, 'the page as JSON');
  }

  async listPages(after: string | null = null): Promise<PageListResponse> {
    return this.json<PageListResponse>(
      after === null ? apiPagesPath : `${apiPagesPath}?after=${encodeURIComponent(after)}`,
      'a slice of pages',
    );
  }

  /** Every page, slice by slice. */
  async *allPages(): AsyncGenerator<PageListResponse['pages'][number]> {
    for (let after: string | null = null, first = true; first || after !== null; first = false) {
      const slice: PageListResponse = await this.listPages(after);
      yield* slice.pages;
      after = slice.next;
    }
  }

  async savePage(slug: string, edit: SaveEdit): Promise<SaveOutcome> {
    const response = await this.request(`${apiPagesPath}/${encodeURIComponent(slug)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ summary: '', ...edit }),
    });
    const status = response.status;
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (status === 200 || status === 201) return { status, saved: body as unknown as SavedPageResponse };
    if (status === 409) return { status, conflict: body as unknown as SaveConflictResponse };
    return { status, error: typeof body.error === 'string' ? body.error : `PUT answered ${status}` };
  }

  private async json<T>(path: string, expected: string): Promise<T> {
    return this.parsed<T>(await this.request(path, { headers: { accept: 'application/json' } }), expected);
  }

  private async parsed<T>(response: Response, expected: string): Promise<T> {
    if (response.status !== 200) {
      await response.arrayBuffer();
      throw new Error(`${response.url} answered ${response.status}; expected 200 with ${expected} (is this a cloudwiki server?)`);
    }
    return (await response.json()) as T;
  }
}
