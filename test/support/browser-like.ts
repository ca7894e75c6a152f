import request from 'supertest';
import type { Express } from 'express';

/**
 * A visitor with a cookie jar, like a browser: it keeps cookies between requests and can be
 * pointed at another app instance (the load balancer sending the next request elsewhere).
 */
export function visitor(app: Express) {
  let target = app;
  const jar = new Map<string, string>();
  const remember = (response: request.Response) => {
    const setCookie = response.headers['set-cookie'] as unknown as string[] | undefined;
    for (const cookie of setCookie ?? []) {
      const [pair = ''] = cookie.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (/Expires=Thu, 01 Jan 1970/i.test(cookie) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };
  const cookieHeader = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');

  const self = {
    jar,
    /** Send the next requests to another instance, keeping the cookies. */
    switchTo(other: Express) {
      target = other;
      return self;
    },
    async get(path: string) {
      return remember(await request(target).get(path).set('Cookie', cookieHeader()));
    },
    /** Loads the form at formPath and posts `fields` with its CSRF token, as a browser would. */
    async submit(formPath: string, action: string, fields: Record<string, string>) {
      const page = await self.get(formPath);
      return self.post(action, { _csrf: csrfTokenIn(page.text), ...fields });
    },
    async post(path: string, fields: Record<string, string>) {
      return remember(await request(target).post(path).type('form').set('Cookie', cookieHeader()).send(fields));
    },
    async putJson(path: string, body: unknown) {
      return remember(
        await request(target)
          .put(path)
          .set('Cookie', cookieHeader())
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

export function csrfTokenIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no CSRF token in the page');
  return match[1];
}

let counter = 0;
/** Names unique across test files and runs, since every test shares one database. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}
