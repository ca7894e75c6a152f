import type { AttackReport, TimelinePoint } from './report';

// A self-contained page: inline SVG charts and no scripts, so it opens offline and can be attached
// to a ticket as one file.

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const width = 720;
const height = 240;
const margin = { left: 56, right: 16, top: 16, bottom: 32 };
const plotWidth = width - margin.left - margin.right;
const plotHeight = height - margin.top - margin.bottom;

function axisMax(values: readonly number[]): number {
  const max = Math.max(1e-3, ...values);
  const magnitude = 10 ** Math.floor(Math.log10(max));
  return Math.ceil(max / magnitude) * magnitude;
}

function yAxis(max: number, unit: string): string {
  return [0, 0.5, 1]
    .map((fraction) => {
      const y = margin.top + plotHeight * (1 - fraction);
      return (
        `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}" class="grid"/>` +
        `<text x="${margin.left - 6}" y="${y + 4}" text-anchor="end">${+(max * fraction).toPrecision(3)} ${unit}</text>`
      );
    })
    .join('');
}

function latencyOverTime(timeline: readonly TimelinePoint[]): string {
  if (timeline.length === 0) return '<p>No timeline was recorded.</p>';
  const lastSecond = Math.max(1, ...timeline.map((point) => point.second));
  const max = axisMax(timeline.map((point) => point.p99));
  const x = (second: number): number => margin.left + (plotWidth * second) / lastSecond;
  const y = (ms: number): number => margin.top + plotHeight * (1 - ms / max);
  const line = (key: 'p50' | 'p99', css: string): string =>
    `<polyline class="${css}" points="${timeline.map((point) => `${x(point.second).toFixed(1)},${y(point[key]).toFixed(1)}`).join(' ')}"/>`;
  return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="p50 and p99 latency per second">
${yAxis(max, 'ms')}
<text x="${margin.left}" y="${height - 8}">0 s</text><text x="${width - margin.right}" y="${height - 8}" text-anchor="end">${lastSecond} s</text>
${line('p99', 'p99')}${line('p50', 'p50')}
<text x="${width - margin.right}" y="${margin.top + 12}" text-anchor="end"><tspan class="p50-key">p50</tspan> <tspan class="p99-key">p99</tspan></text>
</svg>`;
}

function latencyHistogram(report: AttackReport): string {
  const buckets = report.histogram.filter((bucket, index, all) => bucket.count > 0 || all.slice(index).some((later) => later.count > 0));
  if (buckets.length === 0) return '<p>No latencies were recorded.</p>';
  const max = axisMax(buckets.map((bucket) => bucket.count));
  const barWidth = plotWidth / buckets.length;
  const bars = buckets
    .map((bucket, index) => {
      const barHeight = (plotHeight * bucket.count) / max;
      const x = margin.left + index * barWidth;
      return (
        `<rect x="${(x + 1).toFixed(1)}" y="${(margin.top + plotHeight - barHeight).toFixed(1)}" width="${Math.max(1, barWidth - 2).toFixed(1)}" height="${barHeight.toFixed(1)}"><title>≤ ${bucket.upToMs} ms: ${bucket.count}</title></rect>` +
        // Powers of ten label the bars' upper edges: 0.01, 0.1, 1, 10 ... ms.
        (/^(10*|0\.0*1)$/.test(String(bucket.upToMs))
          ? `<text x="${(x + barWidth).toFixed(1)}" y="${height - 8}" text-anchor="middle">${bucket.upToMs}</text>`
          : '')
      );
    })
    .join('');
  return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="latency histogram, milliseconds on a log scale">
${yAxis(max, '')}${bars}</svg>`;
}

export function formatHtml(report: AttackReport): string {
  const rows = report.perBee
    .map(
      (bee) =>
        `<tr><td>${bee.bee}</td><td>${bee.requests}</td><td>${bee.errors}</td><td>${bee.rps}</td><td>${bee.latency.p50}</td><td>${bee.latency.p99}</td><td>${bee.latency.max}</td></tr>`,
    )
    .join('\n');
  const codes = Object.entries(report.statusCodes)
    .map(([code, count]) => `${code}: ${count}`)
    .join(', ');
  const { latency } = report;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bees report: ${escapeHtml(report.target)}</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;max-width:760px;margin:2em auto;color:#222}
svg{width:100%;height:auto;font-size:11px}
.grid{stroke:#ddd}.p50{fill:none;stroke:#2a7ab0;stroke-width:2}.p99{fill:none;stroke:#c0392b;stroke-width:2}
.p50-key{fill:#2a7ab0}.p99-key{fill:#c0392b}rect{fill:#2a7ab0}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}
.verdict{font-size:1.2em;font-weight:bold}.failed{color:#c0392b}
</style></head><body>
<h1>bees report</h1>
<p>${escapeHtml(report.target)} — ${report.bees} bee(s), ${report.connections} connection(s), ${report.mode}${report.targetRate === undefined ? '' : ` at ${report.targetRate} req/s scheduled`}</p>
<p class="verdict${report.verdict.passed ? '' : ' failed'}">Mission Assessment: ${escapeHtml(report.verdict.assessment)}</p>
${report.verdict.reasons.length ? `<ul>${report.verdict.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('')}</ul>` : ''}
<table>
<tr><th>requests</th><td>${report.requests}</td></tr>
<tr><th>failed without an answer</th><td>${report.errors}${
    report.errors
      ? ` (${escapeHtml(
          Object.entries(report.errorsByKind)
            .map(([kind, count]) => `${kind}: ${count}`)
            .join(', '),
        )})`
      : ''
  }</td></tr>
<tr><th>req/s</th><td>${report.rps} <small>(${escapeHtml(report.rpsMeaning)})</small></td></tr>
<tr><th>status codes</th><td>${escapeHtml(codes)}</td></tr>
<tr><th>latency ms</th><td>p50 ${latency.p50} · p90 ${latency.p90} · p99 ${latency.p99} · p99.9 ${latency.p999} · max ${latency.max}</td></tr>
</table>
<h2>Latency over time</h2>
${latencyOverTime(report.timeline)}
<h2>Latency histogram (ms, log scale)</h2>
${latencyHistogram(report)}
<h2>Bees</h2>
<table><tr><th>bee</th><th>requests</th><th>errors</th><th>req/s</th><th>p50</th><th>p99</th><th>max</th></tr>
${rows}
</table>
</body></html>
`;
}
