import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export const publicDir = path.join(__dirname, '..', 'public');

// Upload keys are UUIDs and asset names come from app/public: neither can be this. 03-web.yaml
// lets the instances read it in the assets bucket, where they read nothing else.
export const healthCheckKey = 'cloudwiki-health-check/probe';

const contentTypes: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export interface PublicAsset {
  /** The name the templates use: "style.css". */
  name: string;
  /** The immutable name on S3/CloudFront: "style.3f2a9c1e.css". */
  hashedName: string;
  file: string;
  contentType: string;
}

/**
 * Every file in app/public with its content-hashed name. Instances compute the same names from
 * the same files, so the app and `npm run assets:publish` agree without a manifest to sync.
 */
export function listPublicAssets(dir = publicDir): PublicAsset[] {
  return readdirSync(dir).map((name) => {
    const file = path.join(dir, name);
    const hash = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 10);
    const extension = path.extname(name);
    return {
      name,
      hashedName: `${path.basename(name, extension)}.${hash}${extension}`,
      file,
      contentType: contentTypes[extension] ?? 'application/octet-stream',
    };
  });
}

export interface AssetsOptions {
  s3: S3Client;
  assetsBucket: string;
  uploadsBucket: string;
  /** CloudFront in front of the assets bucket; the app serves /static itself when unset. */
  assetBaseUrl?: string;
  /** Where browsers fetch uploads from (the S3 endpoint); used for the CSP. */
  uploadsOrigin: string;
}

export interface StoredUpload {
  key: string;
  contentType: string;
  filename: string;
  inline: boolean;
}

export function createAssets(options: AssetsOptions) {
  const published = listPublicAssets();
  const assets = new Map(published.map((asset) => [asset.name, asset]));
  const byHashedName = new Map(published.map((asset) => [asset.hashedName, asset]));
  const base = options.assetBaseUrl?.replace(/\/+$/, '');

  return {
    url(name: string): string {
      const asset = assets.get(name);
      if (!asset) throw new Error(`No such asset in app/public: ${name}`);
      return base ? `${base}/${asset.hashedName}` : `/static/${asset.hashedName}`;
    },

    /** Where styles, scripts and fonts come from besides the app itself (CloudFront), for the CSP. */
    staticOrigins(): string[] {
      return base ? [new URL(base).origin] : [];
    },

    /** Where browsers fetch uploads from, for the CSP's img-src only: anyone can upload there. */
    uploadsOrigins(): string[] {
      return [options.uploadsOrigin];
    },

    resolveHashedName(hashedName: string): PublicAsset | undefined {
      return byHashedName.get(hashedName);
    },

    async putUpload(key: string, body: Buffer, contentType: string): Promise<void> {
      // lib-storage's Upload streams in parts and also copes with bodies of unknown length.
      await new Upload({
        client: options.s3,
        params: { Bucket: options.uploadsBucket, Key: key, Body: body, ContentType: contentType },
      }).done();
    },

    /** Removes an object no row points to (an upload whose page went away meanwhile). */
    async deleteUpload(key: string): Promise<void> {
      await options.s3.send(new DeleteObjectCommand({ Bucket: options.uploadsBucket, Key: key }));
    },

    /**
     * A short-lived link straight to S3. The response headers are fixed by the signature, so
     * whatever a file contains, the browser gets our Content-Type and, for anything but an
     * image, a download rather than a page on our origin.
     */
    async uploadUrl(upload: StoredUpload): Promise<string> {
      const disposition = `${upload.inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(upload.filename)}`;
      return getSignedUrl(
        options.s3,
        new GetObjectCommand({
          Bucket: options.uploadsBucket,
          Key: upload.key,
          ResponseContentType: upload.contentType,
          ResponseContentDisposition: disposition,
        }),
        { expiresIn: 300 },
      );
    },

    /**
     * Reads the first byte of one fixed key: a GET costs a twelfth of a LIST, and s3rver answers
     * it where it does not answer HeadBucket. The key may well be absent: with s3:ListBucket,
     * S3 answers a missing key with NoSuchKey, which proves the bucket answers reads as much as
     * the object would (a missing bucket is NoSuchBucket, and that fails the check). A HEAD could
     * not tell the two apart: its 404 has no body.
     */
    async checkBucket(bucket: 'assets' | 'uploads', timeoutMs: number): Promise<void> {
      const name = bucket === 'assets' ? options.assetsBucket : options.uploadsBucket;
      try {
        const { Body } = await options.s3.send(new GetObjectCommand({ Bucket: name, Key: healthCheckKey, Range: 'bytes=0-0' }), {
          abortSignal: AbortSignal.timeout(timeoutMs),
        });
        // Read to the end, or the socket stays taken from the client's pool.
        await Body?.transformToByteArray();
      } catch (error) {
        if ((error as { name?: string }).name !== 'NoSuchKey') throw error;
      }
    },
  };
}

export type Assets = ReturnType<typeof createAssets>;
