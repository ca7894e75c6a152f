import { createConnection } from 'node:net';
import { waitUntil } from '../../../scripts/services/wait';
import { inService, servedBy, settled, startTestLab, type TestLab } from '../support/lab';

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('npm run lab', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startTestLab();
  }, 120_000);
  afterAll(() => lab?.dispose(), 60_000);

  test('when started, then three instances in three zones serve the wiki through the load balancer', async () => {
    const status = await lab.waitForStatus('three instances in service', settled);
    expect(status.instances.map((i) => i.az).sort()).toEqual(['lab-a', 'lab-b', 'lab-c']);
    const answeredBy = new Set<string>();
    for (let i = 0; i < 12; i += 1) answeredBy.add((await servedBy(lab.wikiUrl)).servedBy);
    expect([...answeredBy].sort()).toEqual(status.instances.map((i) => `${i.id}/${i.az}`).sort());
  });

  test('when an instance is killed, then the group terminates and replaces it, and says so in its history', async () => {
    const [victim] = inService(await lab.waitForStatus('instances in service', settled));
    const response = await fetch(new URL('api/faults/instance', lab.statusUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ instance: victim!.id }),
    });
    expect(response.status).toBe(202);
    const status = await lab.waitForStatus(
      'the replacement in service',
      (s) => settled(s) && !s.instances.some((i) => i.id === victim!.id),
    );
    expect(status.instances.filter((i) => i.az === victim!.az)).toHaveLength(1);
    const terminated = status.activities.find((a) => a.description === `Terminating EC2 instance: ${victim!.id}`);
    expect(terminated).toMatchObject({ status: 'Successful' });
    expect(terminated!.cause).toMatch(/instance status check failure/);
  });

  test('when every instance is down, then HAProxy serves the backup site, and the instances again once they are back', async () => {
    await lab.waitForStatus('instances in service', settled);
    await lab.faults.inject({ fault: 'all-web', seconds: 4 });
    // Requests in flight at the moment of the crash may fail: only the outcome is asserted.
    let answer = { servedBy: '', status: 0, body: '' };
    await waitUntil(async () => (answer = await servedBy(lab.wikiUrl, '/wiki/Home')).servedBy === 'backup-site/s3', {
      what: 'the backup site',
      timeoutMs: 15_000,
    });
    expect(answer.body).toContain('cloudwiki is under maintenance');
    await lab.waitForStatus('the group back in service', settled, 45_000);
    const back = await servedBy(lab.wikiUrl);
    expect(back.servedBy).toMatch(/^i-[0-9a-f]+\/lab-[abc]$/);
  });

  test('when the control API gets a request without a JSON content type, then it refuses it (CSRF defence)', async () => {
    const response = await fetch(new URL('api/faults/instance', lab.statusUrl), { method: 'POST', body: '{}' });
    expect(response.status).toBe(415);
  });

  test('when desired capacity is raised through the control API, then the group launches to it', async () => {
    const response = await fetch(new URL('api/capacity', lab.statusUrl), {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ desired: 4 }),
    });
    expect(response.status).toBe(200);
    const status = await lab.waitForStatus('four instances in service', (s) => inService(s).length === 4);
    expect(status.activities[0]?.cause).toMatch(/changing the desired capacity from 3 to 4/);
  });

  test('when stopped, then no process it started is left and its ports are closed', async () => {
    const status = lab.status();
    const pids = status.instances.map((i) => i.pid!);
    const ports = [
      new URL(lab.wikiUrl).port,
      new URL(lab.statusUrl).port,
      lab.services.postgres.port,
      lab.services.dynamodb.port,
      lab.services.s3.port,
    ].map(Number);
    await lab.stop();
    expect(pids.filter((pid) => !processIsGone(pid))).toEqual([]);
    for (const port of ports) expect(await portIsClosed(port)).toBe(true);
  });
});
