import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Application, Express, Response } from 'express';
import nunjucks from 'nunjucks';
import { csrfField } from '../contracts';
import type { Assets } from '../platform/assets';

const viewsDir = path.join(__dirname, '..', 'views');
/** The app setting that holds its nunjucks environment, for partials rendered outside res.render. */
export const viewEnvironmentSetting = 'nunjucks environment';

/** How the wiki, and its backup copy, show a time: "2026-11-25 17:42 UTC". */
export function formatUtcMinute(time: Date): string {
  return time.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/** Server-rendered HTML with autoescaping on: every {{ value }} is escaped unless marked safe. */
export function configureViews(app: Express, assets: Pick<Assets, 'url'>): void {
  const env = nunjucks.configure(viewsDir, { autoescape: true, express: app, noCache: false, throwOnUndefined: false });
  env.addGlobal('assetUrl', (name: string) => assets.url(name));
  // Forms name their token field as the CSRF guard reads it (app/contracts.ts).
  env.addGlobal('csrfField', csrfField);
  env.addFilter('datetime', (value: Date | string | undefined) => (value ? formatUtcMinute(new Date(value)) : ''));
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

/**
 * A view rendered once for many logged-in readers, with holes where each reader's own values go
 * (their name, their CSRF token): the bytes between the holes are kept, and a page view fills
 * them in instead of running the templates again. Filled, it is byte for byte what res.render
 * would have produced for that reader.
 */
export interface RenderingWithHoles<Hole extends string> {
  /** The bytes before the first hole, between holes, and after the last: one more than `holes`. */
  parts: Buffer[];
  holes: Hole[];
  /** The ETag of the kept bytes, to which each reader's values are added (sendFilled). */
  etag: string;
  /** The length of the kept bytes, for the byte bound of whatever keeps them. */
  bytes: number;
}

// A hole is marked in the rendered HTML by a string no page can contain: NUL bytes are refused
// in every stored text (app/http/nul-bytes.ts), and the nonce is new in every process.
const holeNonce = randomBytes(12).toString('hex');
const holeMarker = (name: string) => `\0hole:${name}:${holeNonce}\0`;
const holePattern = new RegExp(`\0hole:([\\w-]+):${holeNonce}\0`);
// nunjucks' own escaping, so that a filled hole is what `{{ value }}` prints (its types omit it).
const escapeAsTemplatesDo = (nunjucks.lib as unknown as { escape(text: string): string }).escape;

/**
 * Renders `view` with a marker wherever a template prints a hole: `locals` receives the function
 * that makes the markers. A hole is filled escaped, as `{{ value }}` would print it, so a hole
 * must only be used where the template prints it with autoescaping.
 */
export function renderWithHoles<Hole extends string>(
  res: Response,
  view: string,
  locals: (hole: (name: Hole) => string) => object,
): Promise<RenderingWithHoles<Hole>> {
  return new Promise((resolve, reject) =>
    res.render(view, locals(holeMarker), (error, html) => {
      if (error) return reject(error);
      // split() with a capture group alternates: text, hole name, text, ..., text.
      const pieces = html.split(holePattern);
      const parts = pieces.filter((_, index) => index % 2 === 0).map(unpooledUtf8);
      const holes = pieces.filter((_, index) => index % 2 === 1) as Hole[];
      const etag = createHash('sha1').update(Buffer.concat(parts)).digest('base64url');
      resolve({ parts, holes, etag, bytes: parts.reduce((sum, part) => sum + part.length, 0) });
    }),
  );
}

/**
 * Sends a rendering with its holes filled with this reader's values. Its ETag is the kept bytes'
 * hash with the values added, rather than a hash of the whole body on every view: it changes
 * whenever the body does, which is all an ETag promises.
 */
export function sendFilled<Hole extends string>(res: Response, rendering: RenderingWithHoles<Hole>, values: Record<Hole, string>): void {
  const chunks: Buffer[] = [rendering.parts[0]!];
  const filled: string[] = [];
  rendering.holes.forEach((hole, index) => {
    const value = escapeAsTemplatesDo(values[hole]);
    filled.push(value);
    chunks.push(Buffer.from(value), rendering.parts[index + 1]!);
  });
  const body = Buffer.concat(chunks);
  const valuesHash = createHash('sha1').update(filled.join('\0')).digest('base64url').slice(0, 12);
  res.set('ETag', `W/"${body.length.toString(16)}-${rendering.etag}-${valuesHash}"`);
  res.type('html').send(body);
}

// Buffer.from places short strings in a shared 8 KB slab: a kept rendering would hold the whole
// slab alive, and the caches' byte bounds would undercount it.
function unpooledUtf8(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  bytes.write(text, 'utf8');
  return bytes;
}
