import { randomUUID } from 'node:crypto';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { fileTypeFromBuffer } from 'file-type';
import multer from 'multer';
import type { Assets } from '../platform/assets';
import { uploadRules } from '../contracts';
import type { UploadRepository } from './repository';
import { HttpError } from '../http/http-error';
import { currentUser, markRecentWrite, readOptions, slugParam } from '../http/request-context';

// What may be uploaded, keyed by the type found in the file's own bytes (not its name or the
// browser's claim). Images are shown inline; everything else downloads as an attachment.
const allowedTypes: Record<string, { extensions: [string, ...string[]]; inline: boolean }> = {
  'image/png': { extensions: ['png'], inline: true },
  'image/jpeg': { extensions: ['jpg', 'jpeg'], inline: true },
  'image/gif': { extensions: ['gif'], inline: true },
  'image/webp': { extensions: ['webp'], inline: true },
  'application/pdf': { extensions: ['pdf'], inline: false },
  'text/plain': { extensions: ['txt'], inline: false },
};
const allowedLabel = 'PNG, JPEG, GIF, WebP, PDF or plain text';
const missingPage = 'Create the page before attaching files to it.';

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toLocaleString('en', { maximumFractionDigits: 1 })} MB`;
}

export interface UploadsRouterDeps {
  uploads: UploadRepository;
  assets: Assets;
  /** Placed after the multipart body is parsed, since the token travels inside it. */
  requireCsrf: RequestHandler;
  /** Upload attempts per user (app/http/limits.ts). */
  limitUploads: RequestHandler;
  /** Bytes one user may have attached in all (0: no quota). */
  quotaBytesPerUser: number;
}

export function createUploadsRouter({ uploads, assets, requireCsrf, limitUploads, quotaBytesPerUser }: UploadsRouterDeps): Router {
  const router = Router();
  // Held in memory only up to the limit, then streamed to S3: nothing touches the local disk.
  // Browsers send file names as UTF-8; busboy would read them as latin-1 ("rÃ©sumÃ©.txt").
  const receiveFile = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: uploadRules.maxBytes, files: 1, fields: 5 },
    defParamCharset: 'utf8',
  }).single('file');

  router.post('/wiki/:slug/uploads', requireUserForUpload, parseMultipart, requireCsrf, limitUploads, attach);
  router.get('/uploads/:key', fetchUpload);

  return router;

  function requireUserForUpload(req: Request, _res: Response, next: NextFunction) {
    if (!currentUser(req)) throw new HttpError(401, 'Log in to attach files.');
    next();
  }

  function parseMultipart(req: Request, res: Response, next: NextFunction) {
    receiveFile(req, res, (error?: unknown) => {
      if (error instanceof multer.MulterError) {
        const message =
          error.code === 'LIMIT_FILE_SIZE'
            ? `The file is larger than ${uploadRules.maxLabel}.`
            : `The upload was not understood: ${error.message}.`;
        return next(new HttpError(error.code === 'LIMIT_FILE_SIZE' ? 413 : 400, message));
      }
      // Anything else is busboy refusing the body itself (no boundary, a part cut short, a bad
      // header): the request's fault, never ours.
      if (error)
        return next(new HttpError(400, 'The upload arrived incomplete or malformed. Choose the file and send it again.', { cause: error }));
      next();
    });
  }

  async function attach(req: Request, res: Response) {
    const slug = slugParam(req);
    const user = currentUser(req)!;
    const file = req.file;
    if (!file || file.size === 0) throw new HttpError(400, 'Choose a file to upload.');
    const contentType = await detectType(file.buffer);
    const allowed = contentType ? allowedTypes[contentType] : undefined;
    if (!contentType || !allowed) throw new HttpError(415, `Only ${allowedLabel} files can be attached.`);
    // Checked before anything is stored: a file for no page would sit in the bucket unlisted.
    if (!(await uploads.pageExists(slug))) throw new HttpError(404, missingPage);
    if (quotaBytesPerUser > 0) {
      const used = await uploads.bytesUploadedBy(user.id);
      if (used + file.size > quotaBytesPerUser)
        throw new HttpError(
          413,
          `This file would take your attachments past ${megabytes(quotaBytesPerUser)}, the most one person may attach (you have ${megabytes(used)}). Link to the file elsewhere instead.`,
        );
    }
    const key = `${randomUUID()}.${allowed.extensions[0]}`;
    await assets.putUpload(key, file.buffer, contentType);
    const filename = servedFilename(file.originalname, contentType) ?? key;
    // The page can still go between the check and the insert, or the insert fail: then no row
    // points to the object, so it goes too.
    const added = await uploads
      .add({ key, pageSlug: slug, filename, contentType, size: file.size, uploadedBy: user.id })
      .catch(async (error: unknown) => {
        await assets.deleteUpload(key).catch(() => undefined);
        throw error;
      });
    if (!added) {
      await assets.deleteUpload(key);
      throw new HttpError(404, missingPage);
    }
    markRecentWrite(res);
    res.redirect(303, `/wiki/${encodeURIComponent(slug)}`);
  }

  async function fetchUpload(req: Request, res: Response) {
    const key = String(req.params.key);
    if (!/^[0-9a-f-]{36}\.[a-z]{3,4}$/.test(key)) throw new HttpError(400, 'That is not an upload key.');
    const upload = await uploads.find(key, readOptions(req));
    if (!upload) throw new HttpError(404, 'No such upload.');
    const inline = allowedTypes[upload.contentType]?.inline ?? false;
    // Files stored before names followed their type get the same treatment on the way out.
    const filename = servedFilename(upload.filename, upload.contentType) ?? key;
    res.set('Cache-Control', 'private, max-age=60');
    res.redirect(302, await assets.uploadUrl({ key, contentType: upload.contentType, filename, inline }));
  }
}

/**
 * The name a file is listed and downloaded under: control and bidirectional-override characters
 * removed (they can make "invoice\u202Etxt.exe" read as "invoiceexe.txt"), no path, and an
 * extension that matches the type found in its bytes, so a text file named setup.bat downloads
 * as setup.txt and no program opens it as a script. Undefined when nothing of the name is left.
 */
function servedFilename(original: string, contentType: string): string | undefined {
  const extensions = allowedTypes[contentType]?.extensions;
  const cleaned = original
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Bidi_Control}\u200B-\u200D\u2060\uFEFF]/gu, '')
    .replace(/^.*[/\\]/, '')
    .trim();
  const dot = cleaned.lastIndexOf('.');
  // By code point, so a long name is never cut inside a character.
  const stem = [...(dot > 0 ? cleaned.slice(0, dot) : cleaned).replace(/[.\s]+$/, '')].slice(0, 180).join('');
  const extension = dot > 0 ? cleaned.slice(dot + 1).toLowerCase() : '';
  if (!stem || !extensions) return undefined;
  return `${stem}.${extensions.includes(extension) ? extension : extensions[0]}`;
}

async function detectType(bytes: Buffer): Promise<string | undefined> {
  const detected = await fileTypeFromBuffer(bytes);
  if (detected) return detected.mime;
  // Plain text has no magic number: accept valid UTF-8 without control characters.
  const text = bytes.toString('utf8');
  return !text.includes('\uFFFD') && !/[\u0000-\u0008\u000e-\u001f]/.test(text) ? 'text/plain' : undefined;
}
