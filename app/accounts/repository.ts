import type { Database } from '../db/db';

export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
}

const uniqueViolation = '23505';

/**
 * How a typed username finds its account: surrounding whitespace ignored, letters in any case.
 * The lookup and the log-in limit both use it, so ' carol' and 'CAROL' are carol to both.
 */
export function usernameKey(typed: string): string {
  return typed.trim().toLowerCase();
}

export function createUserRepository(db: Database) {
  return {
    async findByUsername(username: string): Promise<UserRecord | null> {
      // From the writer: a user who just signed up on another instance must be able to log in.
      // While the writer is away, from the replica: logging in only reads, so a read-only site
      // still lets people in.
      const { rows } = await db.read<UserRecord>(
        'SELECT id::text, username, password_hash AS "passwordHash" FROM users WHERE lower(username) = $1',
        [usernameKey(username)],
        { fromWriter: true },
      );
      return rows[0] ?? null;
    },

    /** Whether a name is taken (case-insensitively): answered before a sign-up pays for a hash. */
    async isTaken(username: string): Promise<boolean> {
      const { rows } = await db.query('SELECT 1 FROM users WHERE lower(username) = $1', [usernameKey(username)]);
      return rows.length > 0;
    },

    async findById(id: string): Promise<UserRecord | null> {
      const { rows } = await db.query<UserRecord>('SELECT id::text, username, password_hash AS "passwordHash" FROM users WHERE id = $1', [
        id,
      ]);
      return rows[0] ?? null;
    },

    async setPasswordHash(id: string, passwordHash: string): Promise<void> {
      await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
    },

    /** Returns null when the name is taken (case-insensitively). */
    async create(username: string, passwordHash: string): Promise<UserRecord | null> {
      try {
        const { rows } = await db.query<UserRecord>(
          'INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id::text, username, password_hash AS "passwordHash"',
          [username, passwordHash],
        );
        return rows[0] ?? null;
      } catch (error) {
        if ((error as { code?: string }).code === uniqueViolation) return null;
        throw error;
      }
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
