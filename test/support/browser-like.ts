import request from 'supertest';
import type { Express } from 'express';
import { CookieJar } from 'tough-cookie';
import { csrfField } from '../../app/contracts';

/** The origin the jar files the in-process app's cookies under: supertest picks a port per request. */
const origin = 'http://127.0.0.1/';

/**
 * A visitor with a cookie jar, like a browser: it keeps cookies between requests and can be
 * pointed at another app instance (the load balancer sending the next request elsewhere).
 */
export function visitor(app: Express) {
  let target = app;
  const jar = new CookieJar();
  const remember = (response: request.Response) => {
    const setCookie = response.headers['set-cookie'] as unknown as string[] | undefined;
    for (const cookie of setCookie ?? []) jar.setCookieSync(cookie, origin, { ignoreError: true });
    return response;
  };

  const self = {
    /** The Cookie header this visitor sends. */
    cookieHeader: () => jar.getCookieStringSync(origin),
    /** One cookie's value, as the browser holds it. */
    cookie: (name: string) => jar.getCookiesSync(origin).find((cookie) => cookie.key === name)?.value,
    /** Sets a cookie the server did not send (a planted or stale one). */
    plant(name: string, value: string) {
      jar.setCookieSync(`${name}=${value}; Path=/`, origin);
    },
    /** Drops a cookie, as a browser that cleared it would. */
    forget(name: string) {
      jar.setCookieSync(`${name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/`, origin);
    },
    /** Send the next requests to another instance, keeping the cookies. */
    switchTo(other: Express) {
      target = other;
      return self;
    },
    async get(path: string) {
      return remember(await request(target).get(path).set('Cookie', self.cookieHeader()));
    },
    /** Loads the form at formPath and posts `fields` with its CSRF token, as a browser would. */
    async submit(formPath: string, action: string, fields: Record<string, string>) {
      const page = await self.get(formPath);
      return self.post(action, { [csrfField]: csrfTokenIn(page.text), ...fields });
    },
    async post(path: string, fields: Record<string, string>) {
      return remember(await request(target).post(path).type('form').set('Cookie', self.cookieHeader()).send(fields));
    },
    async putJson(path: string, body: unknown) {
      return remember(
        await request(target)
          .put(path)
          .set('Cookie', self.cookieHeader())
          .send(body as object),
      );
    },
    async signUp(username = uniqueName('user'), password = 'correct horse battery') {
      const response = await self.submit('/signup', '/signup', { username, password });
      if (response.status !== 303) throw new Error(`sign-up failed with ${response.status}: ${response.text.slice(0, 300)}`);
      return { username, password };
    },
  };
  return self;
}

/** The CSRF token a page's form carries, read as a browser's form submission would send it. */
export function csrfTokenIn(html: string): string {
  const match = new RegExp(`name="${csrfField}" value="([^"]+)"`).exec(html);
  if (!match?.[1]) throw new Error('no CSRF token in the page');
  return match[1];
}

let counter = 0;
/** Names unique across test files and runs, since every test shares one database. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}
