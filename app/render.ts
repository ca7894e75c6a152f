import path from 'node:path';
import type { Application, Express, Response } from 'express';
import nunjucks from 'nunjucks';
import type { Assets } from './assets';

const viewsDir = path.join(__dirname, 'views');
/** The app setting that holds its nunjucks environment, for partials rendered outside res.render. */
export const viewEnvironmentSetting = 'nunjucks environment';

/** Server-rendered HTML with autoescaping on: every {{ value }} is escaped unless marked safe. */
export function configureViews(app: Express, assets: Pick<Assets, 'url'>): void {
  const env = nunjucks.configure(viewsDir, { autoescape: true, express: app, noCache: false, throwOnUndefined: false });
  env.addGlobal('assetUrl', (name: string) => assets.url(name));
  env.addFilter('datetime', (value: Date | string | undefined) =>
    value ? new Date(value).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '',
  );
  env.addFilter('filesize', (bytes: number) =>
    bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`,
  );
  app.set('view engine', 'njk');
  app.set(viewEnvironmentSetting, env);
}

/** A partial rendered to a string at once: the file loader is synchronous and compiled templates are kept. */
export function renderPartial(app: Application, view: string, locals: object): string {
  return (app.get(viewEnvironmentSetting) as nunjucks.Environment).render(view, locals);
}

/**
 * A view rendered once for many readers, kept as the bytes sent, with the ETag Express would
 * otherwise hash them for on every send. Encoding 14 KB of HTML to UTF-8 costs ~25 µs when the
 * string holds any character beyond Latin-1 (→, —, a title in Greek), and a string body is encoded
 * on every send, and once more for its ETag: as bytes, it is encoded once.
 */
export interface SharedRendering {
  body: Buffer;
  etag: string | undefined;
}

export function renderShared(res: Response, view: string, locals: object): Promise<SharedRendering> {
  const etagOf = res.app.get('etag fn') as ((body: Buffer) => string) | undefined;
  return new Promise((resolve, reject) =>
    res.render(view, locals, (error, html) => {
      if (error) return reject(error);
      const body = unpooledUtf8(html);
      resolve({ body, etag: etagOf?.(body) });
    }),
  );
}

/** Sends a shared rendering; Express answers 304 itself when the reader already holds it. */
export function sendShared(res: Response, rendering: SharedRendering): void {
  if (rendering.etag) res.set('ETag', rendering.etag);
  res.type('html').send(rendering.body);
}

// Buffer.from places short strings in a shared 8 KB slab: a kept rendering would hold the whole
// slab alive, and the caches' byte bounds would undercount it.
function unpooledUtf8(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  bytes.write(text, 'utf8');
  return bytes;
}
