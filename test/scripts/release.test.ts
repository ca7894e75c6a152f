import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildRelease } from '../../scripts/release/cli';

// A small project with one production and one development dependency, already built, packed the
// way `npm run release` packs cloudwiki. The dependencies are local packages in ../vendor, so npm
// ci needs no registry; the artifact goes to the project's parent, so the staging directory sees
// ../vendor at the same relative path as the project does.

let workspace: string;
let project: string;

function writeJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value, null, 2));
}

beforeAll(() => {
  workspace = mkdtempSync(path.join(tmpdir(), 'cloudwiki-release-'));
  project = path.join(workspace, 'project');
  writeJson(path.join(workspace, 'vendor', 'runtime-dependency', 'package.json'), { name: 'runtime-dependency', version: '1.0.0' });
  writeJson(path.join(workspace, 'vendor', 'build-tool', 'package.json'), { name: 'build-tool', version: '1.0.0' });
  writeJson(path.join(project, 'package.json'), {
    name: 'cloudwiki',
    version: '9.8.7',
    private: true,
    dependencies: { 'runtime-dependency': 'file:../vendor/runtime-dependency' },
    devDependencies: { 'build-tool': 'file:../vendor/build-tool' },
  });
  execFileSync('npm', ['install', '--package-lock-only', '--install-links', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: project,
  });
  mkdirSync(path.join(project, 'dist', 'app', 'views'), { recursive: true });
  writeFileSync(path.join(project, 'dist', 'app', 'server.js'), 'console.log("server")\n');
  writeFileSync(path.join(project, 'dist', 'app', 'views', 'page.njk'), '<p>page</p>\n');
  writeFileSync(path.join(project, 'dist', 'package.json'), '{"version":"9.8.7"}\n');
  mkdirSync(path.join(project, 'dist', 'scripts'), { recursive: true });
  writeFileSync(path.join(project, 'dist', 'scripts', 'release.js'), '// not shipped\n');
  mkdirSync(path.join(project, 'scripts', 'bootstrap'), { recursive: true });
  writeFileSync(path.join(project, 'scripts', 'bootstrap', 'bootstrap.sh'), '#!/usr/bin/env bash\n');
});

afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe('npm run release', () => {
  test('when the app is built, then the artifact holds the compiled app and production dependencies only, with its checksum', () => {
    const outDir = workspace;
    const release = buildRelease({ projectRoot: project, outDir, skipBuild: true });

    expect(release.id).toBe('9.8.7-nogit');
    expect(path.basename(release.artifact)).toBe('cloudwiki-9.8.7-nogit.tar.gz');
    const members = execFileSync('tar', ['-tzf', release.artifact], { encoding: 'utf8' }).split('\n').filter(Boolean);
    // The user data extracts the boot scripts by exactly this member name.
    expect(members).toContain('./scripts/bootstrap/bootstrap.sh');
    const files = members.map((f) => f.replace(/^\.\//, ''));
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/app/server.js',
        'dist/app/views/page.njk',
        'dist/package.json',
        'package.json',
        'package-lock.json',
        'node_modules/runtime-dependency/package.json',
        'rds-ca.pem',
      ]),
    );
    // Every RDS certificate authority ships inside the checksummed artifact: a boot downloads none.
    const bundle = execFileSync('tar', ['-xzOf', release.artifact, './rds-ca.pem'], { encoding: 'utf8' });
    expect(bundle.match(/-----BEGIN CERTIFICATE-----/g)?.length).toBeGreaterThan(10);
    expect(files.filter((f) => f.includes('build-tool') || f.startsWith('dist/scripts'))).toEqual([]);

    const sha256 = createHash('sha256').update(readFileSync(release.artifact)).digest('hex');
    expect(release.sha256).toBe(sha256);
    expect(readFileSync(`${release.artifact}.sha256`, 'utf8')).toBe(`${sha256}  cloudwiki-9.8.7-nogit.tar.gz\n`);
    execFileSync('sha256sum', ['--check', '--status', `${path.basename(release.artifact)}.sha256`], { cwd: outDir });
  });

  test('when the app was not built, then it says to build first', () => {
    const unbuilt = mkdtempSync(path.join(tmpdir(), 'cloudwiki-unbuilt-'));
    writeJson(path.join(unbuilt, 'package.json'), { name: 'cloudwiki', version: '1.0.0' });
    try {
      expect(() => buildRelease({ projectRoot: unbuilt, outDir: unbuilt, skipBuild: true })).toThrow(
        /dist\/app\/server\.js is missing: run npm run build/,
      );
    } finally {
      rmSync(unbuilt, { recursive: true, force: true });
    }
  });
});
