import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configKeys } from '../app/config';

// The README is where a newcomer learns the settings and the layout: it must not drift from the
// code. These tests fail when a setting or a folder is added, renamed or removed without it.

const root = path.join(__dirname, '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

function section(heading: string): string {
  const start = readme.indexOf(`## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

function trackedPaths(): string[] {
  return execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
}

test('when a setting exists in app/config.ts, then the README names it, and names no other', () => {
  const named = new Set(
    section('Configuration')
      .match(/`[A-Z][A-Z0-9_]+`/g)
      ?.map((name) => name.slice(1, -1)),
  );
  expect([...named].sort()).toEqual([...configKeys].sort());
});

test('when the repository has a top-level folder or a tool under scripts/, then the README layout shows it', () => {
  const layout = section('Layout');
  const paths = trackedPaths();
  const topLevel = new Set(paths.filter((file) => file.includes('/') && !file.startsWith('.')).map((file) => file.split('/')[0]!));
  const tools = new Set(paths.filter((file) => file.startsWith('scripts/')).map((file) => file.split('/')[1]!));
  const shown = (name: string) => new RegExp(`^\\s*${name.replace('.', '\\.')}/?(\\s|$)`, 'm').test(layout);
  expect([...topLevel].filter((name) => !shown(name))).toEqual([]);
  expect([...tools].filter((name) => !shown(name))).toEqual([]);
});
