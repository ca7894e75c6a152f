import { randomUUID } from 'node:crypto';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { fileTypeFromBuffer } from 'file-type';
import multer from 'multer';
import type { Assets } from '../assets';
import { uploadRules } from '../contracts';
import type { UploadRepository } from '../data/uploads';
import { HttpError } from '../http-error';
import { currentUser, markRecentWrite, readOptions, slugParam } from '../request-context';

// What may be uploaded, keyed by the type found in the file's own bytes (not its name or the
// browser's claim). Images are shown inline; everything else downloads as an attachment.
const allowedTypes: Record<string, { extension: string; inline: boolean }> = {
  'image/png': { extension: 'png', inline: true },
  'image/jpeg': { extension: 'jpg', inline: true },
  'image/gif': { extension: 'gif', inline: true },
  'image/webp': { extension: 'webp', inline: true },
  'application/pdf': { extension: 'pdf', inline: false },
  'text/plain': { extension: 'txt', inline: false },
};
const allowedLabel = 'PNG, JPEG, GIF, WebP, PDF or plain text';

export interface UploadsRouterDeps {
  uploads: UploadRepository;
  assets: Assets;
  /** Applied after the multipart body is parsed, since the token travels inside it. */
  csrfProtection: RequestHandler;
}

export function createUploadsRouter({ uploads, assets, csrfProtection }: UploadsRouterDeps): Router {
  const router = Router();
  // Held in memory only up to the limit, then streamed to S3: nothing touches the local disk.
  const receiveFile = multer({ storage: multer.memoryStorage(), limits: { fileSize: uploadRules.maxBytes, files: 1, fields: 5 } }).single(
    'file',
  );

  router.post('/wiki/:slug/uploads', requireUserForUpload, parseMultipart, csrfProtection, attach);
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
      next(error);
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
    const key = `${randomUUID()}.${allowed.extension}`;
    await assets.putUpload(key, file.buffer, contentType);
    const filename = file.originalname.replace(/[\u0000-\u001f\u007f/\\]/g, '').slice(0, 200) || key;
    const added = await uploads.add({ key, pageSlug: slug, filename, contentType, size: file.size, uploadedBy: user.id });
    if (!added) throw new HttpError(404, 'Create the page before attaching files to it.');
    markRecentWrite(res);
    res.redirect(303, `/wiki/${encodeURIComponent(slug)}`);
  }

  async function fetchUpload(req: Request, res: Response) {
    const key = String(req.params.key);
    if (!/^[0-9a-f-]{36}\.[a-z]{3,4}$/.test(key)) throw new HttpError(400, 'That is not an upload key.');
    const upload = await uploads.find(key, readOptions(req));
    if (!upload) throw new HttpError(404, 'No such upload.');
    const inline = allowedTypes[upload.contentType]?.inline ?? false;
    res.set('Cache-Control', 'private, max-age=60');
    res.redirect(302, await assets.uploadUrl({ key, contentType: upload.contentType, filename: upload.filename, inline }));
  }
}

async function detectType(bytes: Buffer): Promise<string | undefined> {
  const detected = await fileTypeFromBuffer(bytes);
  if (detected) return detected.mime;
  // Plain text has no magic number: accept valid UTF-8 without control characters.
  const text = bytes.toString('utf8');
  return !text.includes('\uFFFD') && !/[\u0000-\u0008\u000e-\u001f]/.test(text) ? 'text/plain' : undefined;
}
