import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { weightedPicker } from '../../../scripts/bees/bee';
import { loadScenario } from '../../../scripts/bees/scenario';

const dir = mkdtempSync(path.join(tmpdir(), 'bees-scenario-'));
const write = (name: string, content: unknown): string => {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

describe('bees scenario files', () => {
  it('when the shipped cloudwiki scenarios are loaded, then they are valid and the logged-in one signs users up', () => {
    const scenarios = path.join(__dirname, '../../../scripts/bees/scenarios');
    expect(loadScenario(path.join(scenarios, 'cloudwiki-anonymous.json')).login).toBeUndefined();
    const loggedIn = loadScenario(path.join(scenarios, 'cloudwiki-logged-in.json'));
    expect(loggedIn.login?.mode).toBe('signup');
    const put = loggedIn.routes.find((route) => route.method === 'PUT')!;
    expect(put.headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.parse(put.body!)).toMatchObject({ baseRevision: null });
  });

  it('when a request names a body file, then the body is read relative to the scenario', () => {
    writeFileSync(path.join(dir, 'body.txt'), 'from a file');
    const scenario = loadScenario(write('with-file.json', { requests: [{ method: 'POST', path: '/x', bodyFile: 'body.txt' }] }));
    expect(scenario.routes[0]).toEqual({ method: 'POST', path: '/x', weight: 1, headers: {}, body: 'from a file' });
  });

  it('when a scenario is wrong, then every problem is listed with where it is', () => {
    const file = write('bad.json', { login: { password: 'short' }, requests: [{ path: 'no-slash', weight: -1 }] });
    expect(() => loadScenario(file)).toThrow(
      /login\.password: cloudwiki passwords are at least 8 characters[\s\S]*requests\.0\.path: a path starting with \/[\s\S]*requests\.0\.weight/,
    );
    expect(() => loadScenario(write('not-json.json', '{'))).toThrow(/cannot read scenario .*not-json\.json/);
  });

  it('when routes are picked, then each is chosen in proportion to its weight', () => {
    const draws = [0, 0.2, 0.74, 0.76, 0.99];
    const pick = weightedPicker(
      [
        { method: 'GET', path: '/a', weight: 3 },
        { method: 'GET', path: '/b', weight: 1 },
      ],
      () => draws.shift()!,
    );
    expect(Array.from({ length: 5 }, () => pick().path)).toEqual(['/a', '/a', '/a', '/b', '/b']);
  });

  it('when a scenario lists thousands of routes, then each draw picks the route whose share it falls in', () => {
    const routes = Array.from({ length: 5000 }, (_, n) => ({ method: 'GET', path: `/p${n}`, weight: n % 3 === 0 ? 2 : 1 }));
    const bounds: number[] = [];
    routes.reduce((total, route) => (bounds.push(total), total + route.weight), 0);
    const total = routes.reduce((sum, route) => sum + route.weight, 0);
    const draws: number[] = [];
    const pick = weightedPicker(routes, () => draws.shift()!);
    for (const n of [0, 1, 2, 3, 2500, 4998, 4999]) {
      // The very start of the route's share, and just before its end.
      draws.push(bounds[n]! / total, (bounds[n]! + routes[n]!.weight - 1e-6) / total);
      expect([pick().path, pick().path]).toEqual([`/p${n}`, `/p${n}`]);
    }
  });
});
