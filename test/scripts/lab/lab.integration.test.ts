import { readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { Agent, get } from 'node:http';
import { readOnlyMessage } from '../../../scripts/lab/haproxy';
import { waitUntil } from '../../../scripts/services/wait';
import { inService, servedBy, settled, startTestLab, steadyLoad, type TestLab } from '../support/lab';

/** One GET on a keep-alive agent, as the load balancer's clients hold their connections open. */
function keepAliveGet(url: URL, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent, timeout: 5000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 5 s')));
    request.on('error', reject);
  });
}

/** Pids of the app processes this lab started (their environment names its DynamoDB endpoint). */
function appProcesses(lab: TestLab): number[] {
  const marker = `DYNAMODB_ENDPOINT=${lab.services.dynamodb.endpoint}\0`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return (
          `${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(marker) &&
          readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

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
    // The lab published the wiki in full when it started: the backup shows the Home page itself.
    expect(answer.body).toContain('This is a read-only copy as of');
    expect(answer.body).toContain('Welcome to <strong>cloudwiki</strong>');
    await lab.waitForStatus('the group back in service', settled, 45_000);
    const back = await servedBy(lab.wikiUrl);
    expect(back.servedBy).toMatch(/^i-[0-9a-f]+\/lab-[abc]$/);
  });

  test('when instances are killed in quick succession, replacements still launching too, then the group heals to full strength with nothing left over', async () => {
    await lab.waitForStatus('instances in service', settled);
    for (let round = 0; round < 3; round += 1) {
      await lab.faults.inject({ fault: 'instance' });
      // The replacement, killed while it is still Pending (often before its process has started).
      const pending = await lab.waitForStatus('a replacement launching', (s) => s.instances.some((i) => i.lifecycle === 'Pending'), 15_000);
      const replacement = pending.instances.find((i) => i.lifecycle === 'Pending')!;
      await lab.faults.inject({ fault: 'instance', instance: replacement.id });
      await lab.faults.inject({ fault: 'instance' }).catch(() => {}); // none may be in service at this instant
    }
    const status = await lab.waitForStatus('the group back at full strength', settled, 90_000);
    expect(status.instances.every((i) => i.loadBalancerStatus === 'UP')).toBe(true);
    // Every process the lab runs belongs to an instance of the group: no launch outlived its termination.
    await waitUntil(async () => appProcesses(lab).length === status.instances.length, {
      what: 'only the group’s processes',
      timeoutMs: 15_000,
    });
    expect(appProcesses(lab).sort()).toEqual(status.instances.map((i) => i.pid!).sort());
  }, 150_000);

  test('sigterm: when an instance gets a bare SIGTERM under keep-alive load, then no request fails and the group replaces it', async () => {
    await lab.waitForStatus('instances in service', settled);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const load = steadyLoad((_n) => keepAliveGet(new URL('/wiki/Home', lab.wikiUrl), agent), 4);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const fault = await lab.faults.inject({ fault: 'sigterm' });
    const [victim] = fault.victims;
    await lab.waitForStatus('the victim replaced', (s) => settled(s) && !s.instances.some((i) => i.id === victim), 60_000);
    const { count: requests, failures } = await load.stop();
    agent.destroy();
    expect(requests).toBeGreaterThan(100);
    expect(failures).toEqual([]);
    const terminated = lab.status().activities.find((a) => a.description === `Terminating EC2 instance: ${victim}`);
    expect(terminated?.cause).toMatch(/ELB system health check failure/);
  }, 90_000);

  test('when every instance is down, then the backup site serves reads and refuses every write with 503, the static site unchanged', async () => {
    await lab.waitForStatus('instances in service', settled);
    await lab.faults.inject({ fault: 'all-web', seconds: 20 });
    await waitUntil(async () => (await servedBy(lab.wikiUrl, '/wiki/Home')).servedBy === 'backup-site/s3', {
      what: 'the backup site',
      timeoutMs: 15_000,
    });
    const page = await fetch(new URL('/index.html', lab.wikiUrl));
    const original = await page.text();
    expect(page.status).toBe(200);
    const write = (method: string, path: string, init: RequestInit = {}) =>
      fetch(new URL(path, lab.wikiUrl), { method, ...init, signal: AbortSignal.timeout(5000) });

    const save = await write('PUT', '/api/pages/Home', { headers: { 'Content-Type': 'application/json' }, body: '{"body":"lost?"}' });
    expect(save.status).toBe(503);
    expect(save.headers.get('content-type')).toBe('application/json');
    expect(await save.json()).toEqual({ error: readOnlyMessage, readOnly: true });

    const form = await write('POST', '/wiki/Home', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'body=lost' });
    expect(form.status).toBe(503);
    expect(form.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await form.text()).toContain('Nothing was saved');

    for (const method of ['PUT', 'DELETE', 'POST', 'PATCH']) {
      const answer = await write(method, '/index.html', method === 'DELETE' ? {} : { body: '<h1>defaced</h1>' });
      expect([method, answer.status]).toEqual([method, 503]);
    }
    expect(await (await fetch(new URL('/index.html', lab.wikiUrl))).text()).toBe(original);
    expect((await fetch(new URL('/index.html', lab.wikiUrl), { method: 'HEAD' })).status).toBe(200);
    lab.group.resume(['Launch']);
    await lab.waitForStatus('the group back in service', settled, 60_000);
  }, 120_000);

  test('when the status page and its live fragment are fetched, then the server renders them with the group in them', async () => {
    const page = await fetch(lab.statusUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-fault="db-failover"');
    const live = await (await fetch(new URL('live', lab.statusUrl))).text();
    for (const instance of lab.status().instances) expect(live).toContain(`<td>${instance.id}</td>`);
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
