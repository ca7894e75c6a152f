import path from 'node:path';
import type { Express } from 'express';
import nunjucks from 'nunjucks';
import type { Assets } from './assets';

const viewsDir = path.join(__dirname, 'views');

/** Server-rendered HTML with autoescaping on: every {{ value }} is escaped unless marked safe. */
export function configureViews(app: Express, assets: Assets): void {
  const env = nunjucks.configure(viewsDir, { autoescape: true, express: app, noCache: false, throwOnUndefined: false });
  env.addGlobal('assetUrl', (name: string) => assets.url(name));
  env.addFilter('datetime', (value: Date | string | undefined) =>
    value ? new Date(value).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '',
  );
  env.addFilter('filesize', (bytes: number) =>
    bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`,
  );
  app.set('view engine', 'njk');
}
