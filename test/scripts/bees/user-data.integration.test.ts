import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bundleAgent, renderUserData } from '../../../scripts/bees/user-data';

// agent-boot.sh itself is read by test/scripts/shellcheck.integration.test.ts with every other
// script; this reads it as EC2 receives it, with the header of values `bees up` puts in front.
// An integration test because shellcheck is a system package.

const run = promisify(execFile);

describe('bee user data under shellcheck', () => {
  it('when shellcheck reads the user data as bees up renders it, then it finds nothing', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'bees-user-data-'));
    try {
      const file = path.join(scratch, 'user-data.sh');
      writeFileSync(file, renderUserData({ maxLifetimeMinutes: 60, agentSource: bundleAgent() }));
      await expect(run('shellcheck', [file])).resolves.toMatchObject({ stdout: '' });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
