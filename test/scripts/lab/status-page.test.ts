import { localFaults } from '../../../scripts/lab/faults';
import type { LabStatus } from '../../../scripts/lab/lab';
import { renderStatusLive, renderStatusPage } from '../../../scripts/lab/status-page';

const hostile = '<img src=x onerror=alert(1)>';

const status: LabStatus = {
  wikiUrl: 'http://127.0.0.1:8080/',
  statusUrl: 'http://127.0.0.1:8081/',
  group: { min: 3, max: 6, desired: 3, suspendedProcesses: ['Launch'], policy: null },
  zones: [{ name: 'lab-b', available: false, instances: 0 }],
  instances: [
    {
      id: `i-1${hostile}`,
      az: 'lab-a',
      slot: 1,
      pid: 42,
      port: 4242,
      lifecycle: 'Pending',
      health: 'Healthy',
      loadBalancerStatus: 'MAINT',
      requests: 7,
      requestsPerSecond: 1.5,
      cpuPercent: 3,
      launchedAt: '2026-12-01T01:02:03.000Z',
      release: '0.1.0-abc.lab2',
    },
  ],
  loadBalancer: { servingBackupSite: true, backupSiteRequests: 12 },
  services: { postgres: 'frozen', replica: 'rebuilding', dynamodb: 'running', s3: 'running' },
  database: { replicaZone: 'lab-b' },
  faults: {
    active: [{ id: 2, fault: 'az', description: `lab-b is out ${hostile}`, victims: ['i-9'], zone: 'lab-b', startedAt: 0, endsAt: 20_000 }],
    history: [
      { id: 2, fault: 'az', description: `lab-b is out ${hostile}`, victims: ['i-9'], zone: 'lab-b', startedAt: 0, endsAt: 20_000 },
    ],
  },
  releases: {
    launchTemplate: '0.1.0-abc.lab2',
    rolling: true,
    rolls: [
      {
        id: 1,
        from: '0.1.0',
        to: '0.1.0-abc.lab2',
        state: 'rolling',
        startedAt: 0,
        servedNewRelease: ['i-1'],
        versions: [{ at: 1000, inService: { '0.1.0': 2, '0.1.0-abc.lab2': 1 } }],
        events: [{ at: 1000, message: `i-1 is in service ${hostile}` }],
      },
    ],
  },
  activities: [{ id: 1, status: 'Failed', description: 'Launching a new EC2 instance', cause: `At noon ${hostile}`, startTime: 0 }],
};

describe('the lab status page', () => {
  test('when a figure holds markup, then the page shows it as text, never as HTML', () => {
    const html = renderStatusLive(status);
    expect(html).not.toContain(hostile);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  test('when rendered, then it shows the state of the group, the zones, the services and the faults with their victims', () => {
    const html = renderStatusLive(status);
    expect(html).toContain('serving BACKUP SITE');
    expect(html).toContain('suspended: Launch');
    expect(html).toMatch(
      /<b>lab-b<\/b>\s*<div><span class="pill bad">OUTAGE<\/span><\/div>\s*<div>0 instance\(s\) · database replica<\/div>/,
    );
    expect(html).toContain('postgres <span class="pill warn">frozen</span>');
    expect(html).toMatch(/<td>i-9<\/td>\s*<td>00:00:20 \(active\)<\/td>/);
    expect(html).toContain('<td>42:4242</td>');
  });

  test('when the backup copy lags, then the page shows by how much and how many changes wait, in the colour of the alarm', () => {
    const backup = { bucket: 'cloudwiki-backup', s3Endpoint: 'http://127.0.0.1:1', pendingChanges: 3, readAt: '2026-12-01T01:02:03.000Z' };
    expect(renderStatusLive({ ...status, backup: { ...backup, lagSeconds: 1.5 } })).toContain(
      'backup lag<b><span class="pill ok">1.5 s, 3 waiting</span>',
    );
    expect(renderStatusLive({ ...status, backup: { ...backup, lagSeconds: 400 } })).toContain(
      '<span class="pill bad">400 s, 3 waiting</span>',
    );
    expect(renderStatusLive({ ...status, backup: { ...backup, lagSeconds: null, pendingChanges: null } })).toContain(
      '<span class="pill bad">unknown</span>',
    );
  });

  test('when a release is rolling, then each instance shows its release and the roll shows how many serve each one', () => {
    const html = renderStatusLive(status);
    expect(html).toContain('<td><span class="pill ok">0.1.0-abc.lab2</span></td>');
    expect(html).toContain('roll under way');
    expect(html).toContain('0.1.0: 2, 0.1.0-abc.lab2: 1');
  });

  test('when the whole page is rendered, then it offers a button for every local fault and embeds the live figures', () => {
    const html = renderStatusPage(status);
    for (const fault of localFaults) expect(html).toContain(`data-fault="${fault}"`);
    expect(html).toContain('<main id="live">');
    expect(html).toContain('i-1&lt;img');
  });
});
