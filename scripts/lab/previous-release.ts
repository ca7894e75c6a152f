import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The previous release's code, for checking that it survives this release's schema: during a roll
 * (and after a rollback) instances of both releases serve from one database, migrated by the
 * newer one. Migrations must therefore only expand the schema; what the old code reads may be
 * dropped or renamed only in a later release, once no instance runs code that reads it.
 */

const migrationsPath = 'app/db/migrations';

function git(root: string, args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * The release the newest migration must not break: PREVIOUS_RELEASE when set (a commit or tag, as a
 * pipeline knows its last release); HEAD when the work tree changes the migrations; otherwise the
 * commit before the newest one that changed them.
 */
export function previousReleaseCommit(root: string, override = process.env.PREVIOUS_RELEASE): string {
  if (override) return git(root, ['rev-parse', '--verify', `${override}^{commit}`]);
  if (git(root, ['status', '--porcelain', '--', migrationsPath]) !== '') return git(root, ['rev-parse', 'HEAD']);
  const newest = git(root, ['log', '-1', '--format=%H', '--', migrationsPath]);
  if (!newest) throw new Error(`no commit changes ${migrationsPath}`);
  try {
    return git(root, ['rev-parse', '--verify', `${newest}^`]);
  } catch {
    throw new Error(
      `the commit before ${newest.slice(0, 10)} is not in this clone (a shallow clone?): fetch more history, or set PREVIOUS_RELEASE`,
    );
  }
}

/**
 * Writes that commit's app (source, views, migrations, package.json, tsconfig) into `directory`,
 * run with tsx from the project's node_modules: `node --import tsx <directory>/app/server.ts`.
 */
export function checkOutRelease(root: string, commit: string, directory: string): void {
  mkdirSync(directory, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', commit, 'app', 'package.json', 'tsconfig.json'], {
    cwd: root,
    maxBuffer: 256 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', directory], { input: archive });
  symlinkSync(join(root, 'node_modules'), join(directory, 'node_modules'));
}
