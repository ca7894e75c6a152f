import { analyze } from '../../../scripts/gameday/analysis';
import { formatHtml } from '../../../scripts/gameday/report-html';
import { formatText } from '../../../scripts/gameday/report-text';
import type { FaultRecord, GameDayRecord, RequestSample } from '../../../scripts/gameday/samples';

function sample(at: number, outcome: RequestSample['outcome'], status: number, servedBy: string): RequestSample {
  return { at, ms: 10, kind: 'read', outcome, status, servedBy, vu: 0 };
}

const hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';

function day(fault: Partial<FaultRecord>): GameDayRecord {
  return {
    sessionStore: 'dynamodb',
    sticky: false,
    startedAt: '2026-11-25T18:00:00.000Z',
    durationMs: 6000,
    virtualUsers: 2,
    requests: [sample(2100, 'ok', 200, 'i-a'), sample(2500, 'backup', 200, 'backup-site'), sample(3000, 'failed', 503, '')],
    sessionLosses: [],
    acknowledgedEdits: [],
    missingEdits: [],
    faults: [
      {
        name: 'web tier gone',
        fault: 'all-web',
        description: 'killed all 3 instances',
        injectedAt: 2000,
        undoneAt: 4000,
        windowEnd: 6000,
        detectedAt: 3000,
        capacityRestoredAt: 5000,
        ...fault,
      },
    ],
  };
}

test('when reported, then the text shows each fault with its figures and the verdict', () => {
  const text = formatText(analyze(day({})));
  expect(text).toMatch(/web tier gone\s+1\s+1\s+1 s\s+1 s\s+1 s\s+0 s\s+0 s\s+3 s\s+10 ms\s+0\n/);
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
