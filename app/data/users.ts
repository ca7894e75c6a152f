import type { Database } from './db';

export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
}

const uniqueViolation = '23505';

export function createUserRepository(db: Database) {
  return {
    async findByUsername(username: string): Promise<UserRecord | null> {
      // From the writer: a user who just signed up on another instance must be able to log in.
      const { rows } = await db.query<UserRecord>(
        'SELECT id::text, username, password_hash AS "passwordHash" FROM users WHERE lower(username) = lower($1)',
        [username],
      );
      return rows[0] ?? null;
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
