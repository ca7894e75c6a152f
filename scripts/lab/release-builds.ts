import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { releaseId } from '../release/cli';
import type { LabRelease } from './release-roll';

/**
 * A lab release is a directory under <state dir>/releases/, never changed once written (a
 * rollback must start exactly the code that ran before): a build of the app (app/server.js and
 * its package.json, whose version is what /health reports) with the release's name as that
 * version. A drill's bad release is a good build started behind release-faults.cjs.
 */

export const releaseFaults = ['unhealthy', '5xx', 'slow'] as const;
export type ReleaseFault = (typeof releaseFaults)[number];

export function releasesDir(stateDir: string): string {
  return join(stateDir, 'releases');
}

const faultPreload = resolve(__dirname, 'release-faults.cjs');

export interface StageOptions {
  root: string;
  stateDir: string;
  /** A built tree (as dist/: app/server.js, package.json) to copy; absent: build the current tree. */
  build?: string;
  fault?: ReleaseFault;
  progress?: (line: string) => void;
}

/**
 * Writes a new release directory and returns it with its version:
 * `<package version>-<commit>[-dirty].lab<n>[-<fault>]`, unique within the lab.
 */
export function stageRelease(options: StageOptions): { directory: string; version: string } {
  const parent = releasesDir(options.stateDir);
  mkdirSync(parent, { recursive: true });
  const sequence = readdirSync(parent).length + 1;
  const version = `${releaseId(options.root)}.lab${sequence}${options.fault ? `-${options.fault}` : ''}`;
  const directory = join(parent, version);
  if (options.build) {
    const build = resolve(options.build);
    if (!existsSync(join(build, 'app/server.js')))
      throw new Error(`${build} is not a build: it has no app/server.js (run \`npm run build\`)`);
    options.progress?.(`copying ${build} to ${directory} ...`);
    cpSync(build, directory, { recursive: true, filter: (source) => !source.split(sep).includes('node_modules') });
  } else {
    options.progress?.(`building the current tree into ${directory} (tsc, about 20 s) ...`);
    // As `npm run build`, into the release's own directory: dist/ (what the lab started with) stays as it is.
    execFileSync(join(options.root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json', '--outDir', directory], {
      cwd: options.root,
      stdio: 'inherit',
    });
    cpSync(join(options.root, 'app/views'), join(directory, 'app/views'), { recursive: true });
    cpSync(join(options.root, 'app/public'), join(directory, 'app/public'), { recursive: true });
    cpSync(join(options.root, 'app/data/migrations'), join(directory, 'app/data/migrations'), { recursive: true });
  }
  const packageFile = join(directory, 'package.json');
  const manifest = JSON.parse(readFileSync(packageFile, 'utf8')) as { version: string };
  writeFileSync(packageFile, `${JSON.stringify({ ...manifest, version }, null, 2)}\n`);
  // The build's imports resolve from the project's node_modules wherever the state directory is.
  symlinkSync(join(options.root, 'node_modules'), join(directory, 'node_modules'));
  if (options.fault) writeFileSync(join(directory, 'LAB_RELEASE_FAULT'), `${options.fault}\n`);
  return { directory, version };
}

/**
 * What the lab launches for a release directory. Only directories under the lab's own releases
 * directory are accepted: the control API must not become a way to run any file on the machine.
 */
export function loadRelease(stateDir: string, directory: string, entry = 'app/server.js'): LabRelease {
  const parent = releasesDir(resolve(stateDir));
  const dir = resolve(directory);
  if (relative(parent, dir).startsWith('..') || relative(parent, dir) === '' || dir.includes(`${sep}..${sep}`))
    throw new Error(`a release must be a directory under ${parent} (npm run lab -- release stages one there)`);
  const file = resolve(dir, entry);
  if (relative(dir, file).startsWith('..')) throw new Error(`the entry ${entry} is outside the release`);
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  if (!version) throw new Error(`${join(dir, 'package.json')} names no version`);
  const faultFile = join(dir, 'LAB_RELEASE_FAULT');
  const fault = existsSync(faultFile) ? readFileSync(faultFile, 'utf8').trim() : undefined;
  if (fault !== undefined && !(releaseFaults as readonly string[]).includes(fault)) throw new Error(`unknown release fault ${fault}`);
  return {
    version,
    app: fault
      ? { command: process.execPath, args: ['--require', faultPreload, file], env: { LAB_RELEASE_FAULT: fault } }
      : { command: process.execPath, args: [file] },
  };
}

/** The version a build directory reports (its package.json), for the release a lab starts with. */
export function buildVersion(entry: string): string | undefined {
  const manifest = resolve(entry, '../../package.json');
  if (!existsSync(manifest)) return undefined;
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version;
}
