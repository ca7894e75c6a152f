import { analyze } from '../../../scripts/gameday/analysis';
import { formatHtml } from '../../../scripts/gameday/report-html';
import { formatText } from '../../../scripts/gameday/report-text';
import type { FaultRecord, GameDayRecord } from '../../../scripts/gameday/samples';
import { fault, record, sample } from './records';

const hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';

function day(overrides: Partial<FaultRecord>): GameDayRecord {
  return record({
    // An instance's answer, the backup site's, and the load balancer's own 503.
    requests: [sample(2100, 'ok'), sample(2500, 'backup'), sample(3000, 'failed', '')],
    faults: [fault({ name: 'web tier gone', fault: 'all-web', description: 'killed all 3 instances', undoneAt: 4000, ...overrides })],
  });
}

test('when reported, then the text shows each fault with its figures and the verdict', () => {
  const text = formatText(analyze(day({})));
  expect(text).toMatch(/web tier gone\s+1\s+1\s+1 s\s+1 s\s+1 s\s+0 s\s+0 s\s+3 s\s+10 ms\s+0\s+—\n/);
  expect(text).toContain('saves answered by the backup site: 0 refused, 0 acknowledged (never stored)');
  expect(text).toContain('verdict: PASS');
});

test('when reported as HTML, then each fault, its failures by status and two inline charts are there, with no script or CDN', () => {
  const html = formatHtml(analyze(day({})));
  expect(html).toContain('<p class="verdict pass">Verdict: PASS</p>');
  expect(html).toMatch(/<td>web tier gone<br><small>killed all 3 instances<\/small><\/td>\s*<td>1 \/ 3<br><small>503: 1<\/small><\/td>/);
  expect(html.match(/<svg /g)).toHaveLength(2);
  expect(html.match(/<polyline /g)!.length).toBeGreaterThanOrEqual(4);
  expect(html).not.toMatch(/<script|https?:\/\//);
});

test('when a fault name, description or reason holds markup, then the HTML report prints it as text', () => {
  const report = analyze(day({ name: hostile, description: hostile, capacityRestoredAt: undefined }));
  expect(report.reasons.some((reason) => reason.includes(hostile))).toBe(true);
  const html = formatHtml(report);
  expect(html).not.toContain('<script>');
  expect(html).not.toContain('<img');
  // In the table, the verdict's reasons and each chart's fault label.
  expect(html.split('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;').length - 1).toBe(2 + 1 + 2);
});
