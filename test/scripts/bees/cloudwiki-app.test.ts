import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { AttackReport } from '../../../scripts/bees/report';
import { createPageRepository } from '../../../app/pages/repository';
import { seedPages } from '../../../app/pages/seed';
import { buildTestApp, type TestApp } from '../../support/app';
import { bees } from './support/loopback';

// The shipped logged-in scenario against the real web tier (on the test run's embedded services):
// the form flow, the session cookie and the JSON API are the contract bees relies on.

const scenarios = path.join(__dirname, '../../../scripts/bees/scenarios');

// A real bee process under tsx against the real app: on a shared two-core machine, over 20 s.
jest.setTimeout(120_000);

describe('bees against the real cloudwiki app', () => {
  let built: TestApp;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    built = buildTestApp();
    // As the production server does at start: the scenarios read the Home page.
    await seedPages(createPageRepository(built.db));
    server = built.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await built.close();
  });

  it('when the logged-in scenario runs, then its virtual user signs up, reads pages and creates new ones', async () => {
    // One connection: the embedded PGlite runs one query at a time.
    const run = await bees([
      'attack',
      '-u',
      url,
      '-s',
      path.join(scenarios, 'cloudwiki-logged-in.json'),
      '--local',
      '1',
      '-c',
      '1',
      '-n',
      '60',
      '--json',
      '--no-progress',
    ]);

    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as AttackReport;
    expect(report.virtualUsers).toBe(1);
    expect(report.requests).toBe(60);
    // Reads answer 200, each PUT creates a page (201): no 401 (the session works), no 409.
    expect(Object.keys(report.statusCodes).sort()).toEqual(expect.arrayContaining(['200']));
    expect(Object.keys(report.statusCodes).every((code) => code === '200' || code === '201')).toBe(true);
    expect(run.code).toBe(0);
  });

  it('when the anonymous scenario runs, then every route it names answers 200', async () => {
    const run = await bees([
      'attack',
      '-u',
      url,
      '-s',
      path.join(scenarios, 'cloudwiki-anonymous.json'),
      '--local',
      '1',
      '-c',
      '1',
      '-n',
      '40',
      '--json',
      '--no-progress',
    ]);

    const report = JSON.parse(run.stdout) as AttackReport;
    expect(report.statusCodes).toEqual({ 200: 40 });
    expect(run.code).toBe(0);
  });
});
