import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { renderUserData, repositoryRoot, stackValues } from './bootstrap-harness';

// Every shell script the project ships or tests with, and the EC2 user data as CloudFormation
// renders it, read by Debian's shellcheck. It is an integration test because shellcheck is a system
// package: `npm test` runs on a machine with only Node and npm, and .ci/run installs shellcheck.

const run = promisify(execFile);

/** Tracked and new (not ignored) files whose first line is a sh or bash shebang. */
function shellScripts(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: repositoryRoot, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file && isShellScript(file));
}

function isShellScript(file: string): boolean {
  try {
    const firstLine = readFileSync(path.join(repositoryRoot, file), 'utf8').split('\n', 1)[0] ?? '';
    return /^#!\s*(\/usr\/bin\/env\s+)?(ba)?sh\b|^#!\/bin\/(ba)?sh\b/.test(firstLine);
  } catch {
    return false;
  }
}

describe('shell scripts', () => {
  test('when shellcheck reads every shell script and the rendered user data, then it finds nothing', async () => {
    const scripts = shellScripts();
    // The list is found, not written down, so a new script cannot escape the check; these must be in it.
    expect(scripts).toEqual(expect.arrayContaining(['scripts/bootstrap/bootstrap.sh', 'scripts/deploy', '.ci/run']));
    const scratch = mkdtempSync(path.join(tmpdir(), 'cloudwiki-shellcheck-'));
    try {
      const userData = path.join(scratch, 'user-data.sh');
      writeFileSync(userData, renderUserData(stackValues('1.0.0', 'a'.repeat(64), 3000)));
      await expect(run('shellcheck', ['-x', ...scripts, userData], { cwd: repositoryRoot })).resolves.toMatchObject({ stdout: '' });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
