import type { GameDayReport } from './analysis';

const round = (value: number) => Math.round(value * 10) / 10;
const seconds = (value: number | null) => (value === null ? 'never' : `${value} s`);

/**
 * The terminal report: one line per fault (restored: errors seen after the lab put the part back;
 * writes: until saves succeeded again; domain on backup: how long the lab's DNS layer sent the
 * wiki's port to the backup copy), then sessions, edits and the verdict.
 */
export function formatText(report: GameDayReport): string {
  const lines = [
    `game day (${report.sessionStore} sessions${report.sticky ? ', sticky load balancer' : ''}): ${report.durationSeconds} s, ${report.virtualUsers} logged-in users, ` +
      `${report.requests} requests, ${report.failedRequests} failed`,
    '',
    'fault                                  failed  backup  down  detect  recover  restored  writes  capacity      p99  logged out  domain on backup',
  ];
  for (const fault of report.faults) {
    lines.push(
      [
        fault.name.padEnd(38),
        String(fault.failedRequests).padStart(6),
        String(fault.backupResponses).padStart(7),
        `${fault.downtimeSeconds} s`.padStart(5),
        seconds(fault.detectSeconds).padStart(7),
        `${fault.recoverSeconds} s`.padStart(8),
        (fault.afterRestoredSeconds === null ? '—' : `${fault.afterRestoredSeconds} s`).padStart(9),
        seconds(fault.writesBackSeconds).padStart(7),
        seconds(fault.capacityRestoredSeconds).padStart(9),
        `${fault.p99Ms} ms`.padStart(8),
        String(fault.sessionsLost).padStart(11),
        (fault.domain === null ? '—' : fault.domain.flipped ? `${fault.domain.backupSeconds} s` : 'no').padStart(17),
      ].join(' '),
    );
  }
  for (const fault of report.faults.filter((candidate) => candidate.release)) {
    const release = fault.release!;
    const serving = release.versions.map(
      (entry) =>
        `${entry.second} s ${Object.entries(entry.inService)
          .map(([v, n]) => `${v}×${n}`)
          .join(' ')}`,
    );
    lines.push(
      '',
      `${fault.name}: ${release.state} ${release.from} → ${release.to} in ${seconds(release.rollSeconds)}` +
        (release.detectSeconds !== null
          ? `; detected after ${seconds(release.detectSeconds)}` +
            (release.firstTrafficSeconds !== null
              ? ` (${round(release.detectSeconds - release.firstTrafficSeconds)} s after it first took traffic)`
              : '') +
            `, back on ${release.from} after ${seconds(release.backOnPreviousSeconds)}`
          : '') +
        `; ${release.servedNewRelease} instance(s) served ${release.to}; ${fault.failedRequests} of ${fault.requests} requests failed`,
      ...(release.reason ? [`  why: ${release.reason}`] : []),
      `  in service: ${serving.join(' | ')}`,
    );
  }
  lines.push(
    '',
    `sessions lost: ${report.sessionsLost} of ${report.virtualUsers} users, ${report.sessionsLostBeforeFaults} of them before any fault ` +
      `(${report.loggedOutResponses} logged-out answers)`,
    `edits: ${report.editsAcknowledged} acknowledged, ${report.editsLost} lost${report.missingEdits.length ? ` (${report.missingEdits.slice(0, 5).join(', ')})` : ''}`,
    `saves answered by the backup site: ${report.backupSaves.refused} refused, ${report.backupSaves.acknowledged} acknowledged (never stored)`,
    '',
    `verdict: ${report.verdict.toUpperCase()}`,
    ...report.reasons.map((reason) => `  - ${reason}`),
  );
  return lines.join('\n');
}
