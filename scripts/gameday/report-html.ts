import { backupServer, type GameDayReport, type SecondStats } from './analysis';

interface Series {
  name: string;
  color: string;
  values: number[];
}

const palette = ['#0b6bcb', '#2e8540', '#8a4fbf', '#c77700', '#00838f', '#6d4c41', '#ad1457', '#455a64'];
const failedColor = '#c62828';
const backupColor = '#e0a100';

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Instances in the order they first answered, then the backup site, each with its colour. */
function instanceColors(timeline: readonly SecondStats[]): Map<string, string> {
  const names: string[] = [];
  for (const second of timeline)
    for (const name of Object.keys(second.byInstance)) if (!names.includes(name) && name !== backupServer) names.push(name);
  const colors = new Map(names.map((name, index) => [name, palette[index % palette.length]!]));
  colors.set(backupServer, backupColor);
  return colors;
}

/**
 * A line chart as inline SVG, one x step per second, with the faults' windows shaded and named:
 * no script and no CDN, so the report opens anywhere and can be attached to a ticket.
 */
export function lineChart(title: string, unit: string, series: readonly Series[], report: GameDayReport): string {
  const width = 900;
  const height = 220;
  const left = 50;
  const bottom = 24;
  const top = 18;
  const seconds = Math.max(1, report.timeline.length);
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (second: number) => left + (second / seconds) * (width - left - 10);
  const y = (value: number) => top + (1 - value / max) * (height - top - bottom);
  // Each fault is shaded from its injection until users and capacity were both back; labels are
  // staggered so that faults close together stay readable.
  const bands = report.faults
    .map((fault, index) => {
      const start = x(fault.startSecond);
      const over =
        fault.startSecond + Math.max(1, fault.recoverSeconds, fault.capacityRestoredSeconds ?? fault.endSecond - fault.startSecond);
      return (
        `<rect x="${start.toFixed(1)}" y="${top}" width="${Math.max(1, x(over) - start).toFixed(1)}" height="${height - top - bottom}" fill="#f44336" opacity="0.1"/>` +
        `<line x1="${start.toFixed(1)}" x2="${start.toFixed(1)}" y1="${top}" y2="${height - bottom}" stroke="${failedColor}" stroke-dasharray="4 3"/>` +
        `<text x="${(start + 3).toFixed(1)}" y="${top + 10 + (index % 3) * 12}" font-size="10" fill="${failedColor}">${escape(fault.name)}</text>`
      );
    })
    .join('');
  const lines = series
    .map((s) => {
      const points = s.values.map((value, second) => `${x(second).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
      return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${points}"><title>${escape(s.name)}</title></polyline>`;
    })
    .join('');
  const ticks = [0, max / 2, max]
    .map((value) => `<text x="${left - 4}" y="${y(value) + 3}" font-size="10" text-anchor="end">${Math.round(value)}</text>`)
    .join('');
  const tickEvery = seconds <= 150 ? 10 : 30;
  const timeTicks = Array.from({ length: Math.floor(seconds / tickEvery) + 1 }, (_, i) => i * tickEvery)
    .map((second) => `<text x="${x(second)}" y="${height - 8}" font-size="10" text-anchor="middle">${second}s</text>`)
    .join('');
  const legend = series
    .map((s) => `<span class="key"><span class="swatch" style="background:${s.color}"></span>${escape(s.name)}</span>`)
    .join(' ');
  return `<figure><figcaption>${escape(title)} <span class="unit">(${escape(unit)})</span></figcaption>
<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escape(title)}">
<rect x="${left}" y="${top}" width="${width - left - 10}" height="${height - top - bottom}" fill="none" stroke="#d9dee8"/>${bands}${lines}${ticks}${timeTicks}</svg>
<div class="legend">${legend}</div></figure>`;
}

/** "503: 120, no answer: 2" under the failure count, so a reader sees what kind of failure it was. */
function statuses(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([status, count]) => `${status === '0' ? 'no answer' : status}: ${count}`);
  return parts.length ? `<br><small>${escape(parts.join(', '))}</small>` : '';
}

export function formatHtml(report: GameDayReport): string {
  const colors = instanceColors(report.timeline);
  const per = (pick: (second: SecondStats, name: string) => number): Series[] =>
    [...colors].map(([name, color]) => ({ name, color, values: report.timeline.map((second) => pick(second, name)) }));
  const requests = [
    ...per((second, name) => second.byInstance[name] ?? 0),
    { name: 'failed', color: failedColor, values: report.timeline.map((second) => second.failed) },
  ];
  const latency = per((second, name) => second.p99ByInstance[name] ?? 0);
  const rows = report.faults
    .map(
      (
        fault,
      ) => `<tr><td>${escape(fault.name)}<br><small>${escape(fault.description)}</small></td><td>${fault.failedRequests} / ${fault.requests}${statuses(fault.failuresByStatus)}</td>
<td>${fault.backupResponses}</td><td>${fault.downtimeSeconds} s</td><td>${fault.detectSeconds ?? 'never'}${fault.detectSeconds === null ? '' : ' s'}</td>
<td>${fault.recoverSeconds} s</td><td>${fault.capacityRestoredSeconds ?? 'never'}${fault.capacityRestoredSeconds === null ? '' : ' s'}</td><td>${fault.p99Ms} ms</td><td>${fault.sessionsLost}</td></tr>`,
    )
    .join('\n');
  const reasons = report.reasons.map((reason) => `<li>${escape(reason)}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cloudwiki game day: ${report.verdict}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2433}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d9dee8;padding:.35rem .5rem;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left}small{color:#5b6478}
.verdict{font-size:1.4rem;font-weight:700}.pass{color:#2e8540}.fail{color:#c62828}
figure{margin:1.5rem 0}figcaption{font-weight:600}.unit{color:#5b6478;font-weight:400}
.legend{font-size:.85rem}.key{margin-right:1rem;white-space:nowrap}.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
</style></head><body>
<h1>cloudwiki game day</h1>
<p class="verdict ${report.verdict}">Verdict: ${report.verdict.toUpperCase()}</p>
${reasons ? `<ul>${reasons}</ul>` : ''}
<p>${escape(report.startedAt)} · session store <b>${escape(report.sessionStore)}</b>${report.sticky ? ' (sticky load balancer)' : ''} · ${report.durationSeconds} s · ${report.virtualUsers} logged-in virtual users ·
${report.requests} requests, ${report.failedRequests} failed · sessions lost: <b>${report.sessionsLost}</b>, ${report.sessionsLostBeforeFaults} before any fault (${report.loggedOutResponses} logged-out answers) ·
edits acknowledged ${report.editsAcknowledged}, lost <b>${report.editsLost}</b></p>
<table><thead><tr><th>fault</th><th>failed</th><th>backup site</th><th>downtime</th><th>detect</th><th>recover</th><th>full capacity</th><th>p99</th><th>logged out</th></tr></thead>
<tbody>${rows}</tbody></table>
<p><small>downtime: seconds in which no request got a proper answer from an instance; detect: until the load balancer took the victim out, the deep
health check failed or the backup site took over; recover: until the last failed or backup-served request; full capacity: until
every desired instance was in service again.</small></p>
${lineChart('Requests per second by instance, and failures', 'requests/s', requests, report)}
${lineChart('p99 latency per second by instance', 'ms', latency, report)}
</body></html>
`;
}
