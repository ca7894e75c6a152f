import type { AttackReport } from './report';

const number = (value: number): string => value.toLocaleString('en-US');
const pad = (text: string | number, width: number): string => String(text).padStart(width);

/** The report a person reads in a terminal: totals first, then latency, then a line per bee. */
export function formatText(report: AttackReport): string {
  const lines: string[] = [];
  const { latency } = report;
  lines.push(`Target:        ${report.target}`);
  lines.push(
    `Swarm:         ${report.bees} bee(s), ${report.connections} connection(s), ${report.mode}` +
      (report.targetRate === undefined ? '' : ` at ${number(report.targetRate)} req/s scheduled`) +
      (report.virtualUsers > 0 ? `, ${report.virtualUsers} logged-in virtual users` : ''),
  );
  lines.push(`Requests:      ${number(report.requests)} answered, ${number(report.errors)} failed without an answer`);
  lines.push(`Req/s:         ${number(report.rps)} over ${number(report.wallSeconds)} s (${report.rpsMeaning})`);
  const codes = Object.entries(report.statusCodes).map(([code, count]) => `${code}: ${number(count)}`);
  lines.push(`Status codes:  ${codes.join(', ') || 'none'}`);
  const kinds = Object.entries(report.errorsByKind).map(([kind, count]) => `${kind}: ${number(count)}`);
  if (kinds.length > 0) lines.push(`Errors:        ${kinds.join(', ')}`);
  lines.push(
    `Latency (ms):  p50 ${latency.p50}  p90 ${latency.p90}  p99 ${latency.p99}  p99.9 ${latency.p999}  max ${latency.max}` +
      (latency.correctedForCoordinatedOmission ? '  (from each request’s scheduled send: corrected for coordinated omission)' : ''),
  );
  if (report.perBee.length > 1) {
    lines.push('');
    lines.push('Each bee, req/s over its own run:');
    lines.push(
      `${pad('bee', 4)} ${pad('requests', 10)} ${pad('errors', 7)} ${pad('req/s', 9)} ${pad('p50', 8)} ${pad('p99', 8)} ${pad('max', 8)}`,
    );
    for (const bee of report.perBee) {
      lines.push(
        `${pad(bee.bee, 4)} ${pad(number(bee.requests), 10)} ${pad(number(bee.errors), 7)} ${pad(number(bee.rps), 9)} ` +
          `${pad(bee.latency.p50, 8)} ${pad(bee.latency.p99, 8)} ${pad(bee.latency.max, 8)}`,
      );
    }
  }
  lines.push('');
  lines.push(`Mission Assessment: ${report.verdict.assessment}`);
  for (const reason of report.verdict.reasons) lines.push(`  - ${reason}`);
  return `${lines.join('\n')}\n`;
}
