import path from 'node:path';
import nunjucks from 'nunjucks';
import { backupServer, type GameDayReport, type SecondStats } from './analysis';

interface Series {
  name: string;
  color: string;
  values: number[];
}

/** What report.njk draws for one chart: every coordinate computed here, every name escaped there. */
interface ChartModel {
  title: string;
  unit: string;
  width: number;
  height: number;
  plot: { x: number; y: number; width: number; height: number };
  bands: { name: string; x: string; width: string; labelX: string; labelY: number }[];
  lines: { name: string; color: string; points: string }[];
  valueTicks: { y: number; label: number }[];
  timeTicks: { x: number; label: string }[];
}

const palette = ['#0b6bcb', '#2e8540', '#8a4fbf', '#c77700', '#00838f', '#6d4c41', '#ad1457', '#455a64'];
const failedColor = '#c62828';
const backupColor = '#e0a100';

const templates = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(__dirname, 'templates')), {
  autoescape: true,
  throwOnUndefined: true,
});

/** Instances in the order they first answered, then the backup site, each with its colour. */
function instanceColors(timeline: readonly SecondStats[]): Map<string, string> {
  const names: string[] = [];
  for (const second of timeline)
    for (const name of Object.keys(second.byInstance)) if (!names.includes(name) && name !== backupServer) names.push(name);
  const colors = new Map(names.map((name, index) => [name, palette[index % palette.length]!]));
  colors.set(backupServer, backupColor);
  return colors;
}

/** A line chart, one x step per second, with the faults' windows shaded and named. */
function chartModel(title: string, unit: string, series: readonly Series[], report: GameDayReport): ChartModel {
  const width = 900;
  const height = 220;
  const plot = { x: 50, y: 18, width: width - 50 - 10, height: height - 18 - 24 };
  const seconds = Math.max(1, report.timeline.length);
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (second: number) => plot.x + (second / seconds) * plot.width;
  const y = (value: number) => plot.y + (1 - value / max) * plot.height;
  const tickEvery = seconds <= 150 ? 10 : 30;
  return {
    title,
    unit,
    width,
    height,
    plot,
    // Each fault is shaded from its injection until users and capacity were both back; labels are
    // staggered so that faults close together stay readable.
    bands: report.faults.map((fault, index) => {
      const start = x(fault.startSecond);
      const over =
        fault.startSecond + Math.max(1, fault.recoverSeconds, fault.capacityRestoredSeconds ?? fault.endSecond - fault.startSecond);
      return {
        name: fault.name,
        x: start.toFixed(1),
        width: Math.max(1, x(over) - start).toFixed(1),
        labelX: (start + 3).toFixed(1),
        labelY: plot.y + 10 + (index % 3) * 12,
      };
    }),
    lines: series.map((s) => ({
      name: s.name,
      color: s.color,
      points: s.values.map((value, second) => `${x(second).toFixed(1)},${y(value).toFixed(1)}`).join(' '),
    })),
    valueTicks: [0, max / 2, max].map((value) => ({ y: y(value) + 3, label: Math.round(value) })),
    timeTicks: Array.from({ length: Math.floor(seconds / tickEvery) + 1 }, (_, i) => i * tickEvery).map((second) => ({
      x: x(second),
      label: `${second}s`,
    })),
  };
}

/** "503: 120, no answer: 2" under the failure count, so a reader sees what kind of failure it was. */
function statuses(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([status, count]) => `${status === '0' ? 'no answer' : status}: ${count}`)
    .join(', ');
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
  return templates.render('report.njk', {
    report,
    failedColor,
    statuses: report.faults.map((fault) => statuses(fault.failuresByStatus)),
    charts: [
      chartModel('Requests per second by instance, and failures', 'requests/s', requests, report),
      chartModel('p99 latency per second by instance', 'ms', latency, report),
    ],
  });
}
