import type { Database } from '../db/db';
import type { ReadOptions } from '../pages/repository';

export interface UploadRecord {
  key: string;
  filename: string;
  contentType: string;
  size: number;
  createdAt: Date;
}

export interface NewUpload {
  key: string;
  pageSlug: string;
  filename: string;
  contentType: string;
  size: number;
  uploadedBy: string;
}

const columns = `u.key, u.filename, u.content_type AS "contentType", u.size, u.created_at AS "createdAt"`;

export function createUploadRepository(db: Database) {
  return {
    /** Returns false when the page does not exist. */
    async add(upload: NewUpload): Promise<boolean> {
      const { rowCount } = await db.query(
        `INSERT INTO uploads (key, page_id, filename, content_type, size, uploaded_by)
         SELECT $1, id, $3, $4, $5, $6 FROM pages WHERE slug = $2`,
        [upload.key, upload.pageSlug, upload.filename, upload.contentType, upload.size, upload.uploadedBy],
      );
      return rowCount === 1;
    },

    /** From the writer: a page created a moment ago on another instance takes files at once. */
    async pageExists(slug: string): Promise<boolean> {
      const { rows } = await db.query('SELECT 1 FROM pages WHERE slug = $1', [slug]);
      return rows.length > 0;
    },

    /** Bytes a user has attached so far, all pages together: what their quota counts. */
    async bytesUploadedBy(userId: string): Promise<number> {
      const { rows } = await db.query<{ bytes: string }>(
        'SELECT coalesce(sum(size), 0)::text AS bytes FROM uploads WHERE uploaded_by = $1',
        [userId],
      );
      return Number(rows[0]?.bytes ?? 0);
    },

    async listForPage(slug: string, options: ReadOptions = {}): Promise<UploadRecord[]> {
      const { rows } = await db.read<UploadRecord>(
        `SELECT ${columns} FROM uploads u JOIN pages p ON p.id = u.page_id WHERE p.slug = $1 ORDER BY u.created_at`,
        [slug],
        options,
      );
      return rows;
    },

    async find(key: string, options: ReadOptions = {}): Promise<UploadRecord | null> {
      const { rows } = await db.read<UploadRecord>(`SELECT ${columns} FROM uploads u WHERE u.key = $1`, [key], options);
      return rows[0] ?? null;
    },
  };
}

export type UploadRepository = ReturnType<typeof createUploadRepository>;
