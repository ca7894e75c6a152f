import { formatHtml } from '../../../scripts/bees/format-html';
import { createLatencyHistogram, encodeHistogram, recordMillis } from '../../../scripts/bees/histograms';
import { buildReport } from '../../../scripts/bees/report';
import type { BeeResult, BeeSpec } from '../../../scripts/bees/spec';

const hostile = `"><script>alert('bees')</script><img src=x onerror=alert(1)>`;

function attack(url: string, errorKind: string) {
  const spec: BeeSpec = {
    bee: 0,
    runId: 'r1',
    url,
    connections: 1,
    amount: 12,
    rampUpSeconds: 0,
    timeoutSeconds: 10,
    method: 'GET',
    headers: {},
    timeline: true,
  };
  const latency = createLatencyHistogram();
  for (const millis of [0.4, 0.9, 1.5, 3, 12, 40, 40, 40, 41, 90]) recordMillis(latency, millis);
  const encoded = encodeHistogram(latency);
  const startedAtMs = Date.UTC(2026, 0, 1);
  const result: BeeResult = {
    bee: 0,
    requests: 10,
    errors: 2,
    errorsByKind: { [errorKind]: 2 },
    statusCodes: { 200: 10 },
    elapsedSeconds: 2,
    startedAtMs,
    finishedAtMs: startedAtMs + 2000,
    bytes: 1000,
    latency: encoded,
    timeline: [
      { second: 0, requests: 5, errors: 2, latency: encoded },
      { second: 1, requests: 5, errors: 0, latency: encoded },
    ],
    virtualUsers: 0,
    setupSeconds: 0,
  };
  return buildReport([spec], [result], { maxErrorRate: 0.01, maxP99Ms: 1000 });
}

describe('bees HTML report', () => {
  it('when the target URL and an error kind carry markup, then the page shows them as text and runs nothing', () => {
    const html = formatHtml(attack(`http://127.0.0.1:1/${hostile}`, hostile));

    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    // Escaped, the text is still there to read.
    expect(html).toContain('&lt;script&gt;alert(&#39;bees&#39;)&lt;/script&gt;');
    expect(html).toContain(`&lt;img src=x onerror=alert(1)&gt;: 2`);
  });

  it('when an attack has a timeline and latencies, then the page has both charts, the verdict and a row per bee', () => {
    const html = formatHtml(attack('http://127.0.0.1:1/wiki/Home', 'ECONNRESET'));

    expect(html).toMatch(/<polyline class="p99" points="[\d., ]+"\/>/);
    expect(html).toMatch(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+"><title>≤ [\d.]+ ms: \d+<\/title><\/rect>/);
    expect(html).toContain('Mission Assessment: ');
    expect(html).toContain('failure rate');
    expect(html).toMatch(/<tr><td>0<\/td><td>10<\/td><td>2<\/td>/);
    expect(html).toContain('ECONNRESET: 2');
  });
});
