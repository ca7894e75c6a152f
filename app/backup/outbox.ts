import type { Database } from '../db/db';
import type { Page } from '../pages/repository';

// The outbox the database's triggers fill (app/db/migrations/*_backup-outbox.sql), read and
// emptied by the publishers. Claims are leases rather than transactions held open across the S3
// writes: a transaction would hold a writer connection for as long as S3 takes, and a database
// failover would roll it back anyway. Every time comes from the caller's clock, so a test moves
// time instead of waiting for a lease to run out.

export interface ClaimedChange {
  id: string;
  slug: string;
  createdAt: Date;
  attempts: number;
}

export interface SiteClaim {
  claimId: string;
  attempts: number;
}

export interface BackupLag {
  /** When the oldest change not yet in the backup was acknowledged; null when the backup is current. */
  oldestChangeAt: Date | null;
  /** Page changes waiting (the site-wide files count as none). */
  pendingChanges: number;
}

export function createBackupOutbox(db: Database) {
  return {
    /**
     * Claims up to `limit` rows due at `now` until `now + leaseMs`. SKIP LOCKED hands each row to
     * one claimer even when every instance asks at once, and the claim commits with the statement.
     */
    async claimChanges(limit: number, now: Date, leaseMs: number): Promise<ClaimedChange[]> {
      const { rows } = await db.query<ClaimedChange>(
        `UPDATE backup_outbox o SET available_at = $2::timestamptz + $3 * interval '1 millisecond', attempts = o.attempts + 1
           FROM (SELECT id FROM backup_outbox WHERE available_at <= $2 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) due
          WHERE o.id = due.id
          RETURNING o.id, o.slug, o.created_at AS "createdAt", o.attempts`,
        [limit, now, leaseMs],
      );
      return rows.sort((a, b) => Number(a.id) - Number(b.id));
    },

    /**
     * The pages are in the bucket: their rows go, and the site-wide files owe the oldest of them.
     * One statement, so a crash leaves either both undone (the pages are written again, which is
     * harmless) or both done.
     */
    async completeChanges(ids: readonly string[]): Promise<void> {
      await db.query(
        `WITH done AS (DELETE FROM backup_outbox WHERE id = ANY($1::bigint[]) RETURNING created_at)
         UPDATE backup_site SET changed_at = LEAST(changed_at, (SELECT min(created_at) FROM done))
          WHERE EXISTS (SELECT 1 FROM done)`,
        [ids],
      );
    },

    /** A write failed: the rows wait `retryInMs` before another publisher may try them. */
    async retryChangesLater(ids: readonly string[], now: Date, retryInMs: number, error: string): Promise<void> {
      await db.query(
        `UPDATE backup_outbox SET available_at = $2::timestamptz + $3 * interval '1 millisecond', last_error = left($4, 500)
          WHERE id = ANY($1::bigint[])`,
        [ids, now, retryInMs, error],
      );
    },

    /**
     * Claims the rebuild of the site-wide files when they owe a change and nobody holds them. The
     * changes they owe move to in_flight_since, so changes that arrive during the rebuild leave
     * them owing again rather than being taken as written.
     */
    async claimSite(now: Date, leaseMs: number): Promise<SiteClaim | null> {
      const { rows } = await db.query<SiteClaim>(
        `UPDATE backup_site
            SET in_flight_since = LEAST(changed_at, in_flight_since), changed_at = NULL,
                available_at = $1::timestamptz + $2 * interval '1 millisecond', claim_id = claim_id + 1, attempts = attempts + 1
          WHERE (changed_at IS NOT NULL OR in_flight_since IS NOT NULL) AND available_at <= $1
          RETURNING claim_id AS "claimId", attempts`,
        [now, leaseMs],
      );
      return rows[0] ?? null;
    },

    /** The site-wide files are written: what this claim carried is in the backup. */
    async completeSite(claim: SiteClaim, now: Date): Promise<void> {
      await db.query(`UPDATE backup_site SET in_flight_since = NULL, available_at = $2, attempts = 0 WHERE claim_id = $1`, [
        claim.claimId,
        now,
      ]);
    },

    /** The rebuild failed: it is owed again, after `retryInMs`. */
    async retrySiteLater(claim: SiteClaim, now: Date, retryInMs: number): Promise<void> {
      await db.query(
        `UPDATE backup_site SET changed_at = LEAST(changed_at, in_flight_since), in_flight_since = NULL,
                available_at = $2::timestamptz + $3 * interval '1 millisecond'
          WHERE claim_id = $1`,
        [claim.claimId, now, retryInMs],
      );
    },

    /** Pages by slug, from the writer, in one round trip: the search index's text of pages that changed. */
    async pagesBySlug(slugs: readonly string[]): Promise<Page[]> {
      const { rows } = await db.query<Page>(
        `SELECT p.slug, p.title, p.body, p.revision, p.updated_at AS "updatedAt", u.username AS "updatedBy"
           FROM pages p LEFT JOIN users u ON u.id = p.updated_by WHERE p.slug = ANY($1::text[])`,
        [slugs],
      );
      return rows;
    },

    /** How far the backup is behind: the oldest acknowledged change it does not show yet. */
    async lag(): Promise<BackupLag> {
      const { rows } = await db.query<BackupLag>(
        `SELECT LEAST((SELECT min(created_at) FROM backup_outbox), s.changed_at, s.in_flight_since) AS "oldestChangeAt",
                (SELECT count(*) FROM backup_outbox)::int AS "pendingChanges"
           FROM backup_site s`,
      );
      return rows[0] ?? { oldestChangeAt: null, pendingChanges: 0 };
    },
  };
}

export type BackupOutbox = ReturnType<typeof createBackupOutbox>;
