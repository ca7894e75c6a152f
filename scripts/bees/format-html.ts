import nunjucks from 'nunjucks';
import path from 'node:path';
import type { AttackReport, TimelinePoint } from './report';

// A self-contained page: inline SVG charts and no scripts, so it opens offline and can be attached
// to a ticket as one file. This module works out the charts' geometry; templates/report.njk writes
// the markup, with autoescaping, so a target URL or an error message cannot inject anything.

const templates = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(__dirname, 'templates')), {
  autoescape: true,
  throwOnUndefined: true,
});

const width = 720;
const height = 240;
const margin = { left: 56, right: 16, top: 16, bottom: 32 };
const plotWidth = width - margin.left - margin.right;
const plotHeight = height - margin.top - margin.bottom;

interface Tick {
  y: number;
  label: string;
}

interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  upToMs: number;
  count: number;
  /** Powers of ten label the bars' upper edges: 0.01, 0.1, 1, 10 ... ms. */
  label?: { x: number; text: string };
}

function axisMax(values: readonly number[]): number {
  const max = Math.max(1e-3, ...values);
  const magnitude = 10 ** Math.floor(Math.log10(max));
  return Math.ceil(max / magnitude) * magnitude;
}

function ticks(max: number, unit: string): Tick[] {
  return [0, 0.5, 1].map((fraction) => ({
    y: margin.top + plotHeight * (1 - fraction),
    label: `${+(max * fraction).toPrecision(3)} ${unit}`.trimEnd(),
  }));
}

const fixed = (value: number): number => Number(value.toFixed(1));

function latencyOverTime(timeline: readonly TimelinePoint[]) {
  if (timeline.length === 0) return null;
  const lastSecond = Math.max(1, ...timeline.map((point) => point.second));
  const max = axisMax(timeline.map((point) => point.p99));
  const x = (second: number): number => margin.left + (plotWidth * second) / lastSecond;
  const y = (ms: number): number => margin.top + plotHeight * (1 - ms / max);
  const points = (key: 'p50' | 'p99'): string =>
    timeline.map((point) => `${x(point.second).toFixed(1)},${y(point[key]).toFixed(1)}`).join(' ');
  return { ticks: ticks(max, 'ms'), lastSecond, p50: points('p50'), p99: points('p99') };
}

function latencyHistogram(report: AttackReport) {
  // Empty buckets after the slowest answer are dropped; those before it show the gaps.
  const buckets = report.histogram.filter((bucket, index, all) => bucket.count > 0 || all.slice(index).some((later) => later.count > 0));
  if (buckets.length === 0) return null;
  const max = axisMax(buckets.map((bucket) => bucket.count));
  const barWidth = plotWidth / buckets.length;
  const bars = buckets.map((bucket, index): Bar => {
    const barHeight = (plotHeight * bucket.count) / max;
    const x = margin.left + index * barWidth;
    return {
      x: fixed(x + 1),
      y: fixed(margin.top + plotHeight - barHeight),
      width: fixed(Math.max(1, barWidth - 2)),
      height: fixed(barHeight),
      upToMs: bucket.upToMs,
      count: bucket.count,
      ...(/^(10*|0\.0*1)$/.test(String(bucket.upToMs)) ? { label: { x: fixed(x + barWidth), text: String(bucket.upToMs) } } : {}),
    };
  });
  return { ticks: ticks(max, ''), bars };
}

export function formatHtml(report: AttackReport): string {
  return templates.render('report.njk', {
    report,
    chart: { width, height, left: margin.left, right: width - margin.right, top: margin.top, labelY: height - 8 },
    latencyOverTime: latencyOverTime(report.timeline),
    histogram: latencyHistogram(report),
    statusCodes: Object.entries(report.statusCodes).map(([code, count]) => `${code}: ${count}`),
    errorKinds: Object.entries(report.errorsByKind).map(([kind, count]) => `${kind}: ${count}`),
  });
}
