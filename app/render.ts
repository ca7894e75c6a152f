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

/** A view rendered once for many readers, with the ETag Express would otherwise hash it for on every send. */
export interface SharedRendering {
  html: string;
  etag: string | undefined;
}

export function renderShared(res: Response, view: string, locals: object): Promise<SharedRendering> {
  const etagOf = res.app.get('etag fn') as ((body: string, encoding: BufferEncoding) => string) | undefined;
  return new Promise((resolve, reject) =>
    res.render(view, locals, (error, html) => (error ? reject(error) : resolve({ html, etag: etagOf?.(html, 'utf8') }))),
  );
}

/** Sends a shared rendering; Express answers 304 itself when the reader already holds it. */
export function sendShared(res: Response, rendering: SharedRendering): void {
  if (rendering.etag) res.set('ETag', rendering.etag);
  res.type('html').send(rendering.html);
}
