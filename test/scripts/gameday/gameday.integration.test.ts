import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyze } from '../../../scripts/gameday/analysis';
import { formatHtml } from '../../../scripts/gameday/report-html';
import { runGameDay } from '../../../scripts/gameday/run';

const root = path.resolve(__dirname, '../../..');

// A short game day on the real app (run from source through tsx, so no build is needed): every
// fault is injected, noticed and recovered from, no session and no acknowledged edit is lost, the
// backup site answers reads while the web tier is gone and acknowledges no save. How fast is for
// the benchmark, not asserted.
test('when a short game day runs on the dynamodb session store, then it loses nothing and sees the backup site take over', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'cloudwiki-gameday-'));
  chmodSync(stateDir, 0o711);
  try {
    const record = await runGameDay({
      root,
      stateDir: path.join(stateDir, 'lab'),
      app: { command: process.execPath, args: ['--import', 'tsx', path.join(root, 'app/server.ts')] },
      sessionStore: 'dynamodb',
      plan: {
        users: 3,
        rate: 10,
        editEvery: 4,
        warmUpSeconds: 3,
        settleSeconds: 2,
        steps: [
          { name: 'kill one instance', fault: 'instance', maxWaitSeconds: 40 },
          { name: 'bare SIGTERM', fault: 'sigterm', maxWaitSeconds: 40 },
          { name: 'database restart', fault: 'database', seconds: 3, maxWaitSeconds: 40 },
          { name: 'all web down', fault: 'all-web', seconds: 5, maxWaitSeconds: 60 },
        ],
      },
      log: () => {},
    });
    const report = analyze(record);
    expect(report.faults.map((fault) => fault.name)).toEqual(['kill one instance', 'bare SIGTERM', 'database restart', 'all web down']);
    for (const fault of report.faults) {
      expect({ fault: fault.name, detected: fault.detectSeconds !== null, recovered: fault.capacityRestoredSeconds !== null }).toEqual({
        fault: fault.name,
        detected: true,
        recovered: true,
      });
    }
    expect(report.faults[3]!.backupResponses).toBeGreaterThan(0);
    expect(report.faults[2]!.failedRequests).toBeGreaterThan(0);
    // The app answers "who am I" (the load's session check) whenever an instance is up.
    const sessionChecks = record.requests.filter((request) => request.kind === 'session' && request.servedBy.startsWith('i-'));
    expect(sessionChecks.length).toBeGreaterThan(0);
    expect(sessionChecks.filter((request) => request.status !== 200)).toEqual([]);
    // The backup site is read-only: it refuses saves and never acknowledges one.
    expect(report.backupSaves.acknowledged).toBe(0);
    expect(report.editsAcknowledged).toBeGreaterThan(0);
    expect({ sessionsLost: report.sessionsLost, editsLost: report.editsLost }).toEqual({ sessionsLost: 0, editsLost: 0 });
    expect(formatHtml(report)).toContain('all web down');
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}, 240_000);
