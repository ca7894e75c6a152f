import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { deepHealthPath, healthPath } from '../../app/contracts';

// No Docker engine runs here, so the Dockerfile is checked as parsed text: the rules that make
// the image small, unprivileged, health-checked and stoppable.

const repositoryRoot = path.join(__dirname, '..', '..');
const dockerfile = DockerfileParser.parse(readFileSync(path.join(repositoryRoot, 'Dockerfile'), 'utf8'));
const instructions = dockerfile.getInstructions();
const runtimeStart = instructions.findLastIndex((instruction) => instruction.getKeyword() === 'FROM');
const runtime = instructions.slice(runtimeStart);
const inRuntime = (keyword: string): Instruction[] => runtime.filter((instruction) => instruction.getKeyword() === keyword);
const argumentsOf = (instruction: Instruction | undefined) => instruction?.getArgumentsContent() ?? '';

describe('Dockerfile', () => {
  test('when built, then it uses several stages on Node 22 LTS slim', () => {
    const images = dockerfile.getFROMs().map((from) => from.getImage());
    expect(images.length).toBeGreaterThanOrEqual(2);
    const imageArgument = dockerfile.getARGs().find((arg) => arg.getProperty()?.getName() === 'NODE_IMAGE');
    for (const image of images) expect((image ?? '').replace('${NODE_IMAGE}', imageArgument?.getProperty()?.getValue() ?? '')).toMatch(/^node:22[.\d]*-[a-z]+-slim$/);
  });

  test('when the image runs, then it holds production dependencies only and runs as a non-root user', () => {
    const prune = instructions.filter((instruction) => instruction.getKeyword() === 'RUN' && /npm ci .*--omit=dev/.test(argumentsOf(instruction)));
    expect(prune).toHaveLength(1);
    const runtimeFromLine = runtime[0]?.getRange().start.line ?? 0;
    const copies = dockerfile
      .getCOPYs()
      .filter((copy) => copy.getRange().start.line > runtimeFromLine)
      .map((copy) => copy.getFlags().find((flag) => flag.getName() === 'from')?.getValue());
    expect(copies.filter(Boolean)).toEqual(['production-dependencies', 'build', 'build']);
    const user = inRuntime('USER').at(-1);
    expect(argumentsOf(user)).not.toMatch(/^(root|0)(:|$)/);
    expect(user).toBeDefined();
  });

  test('when Docker checks health, then it asks the shallow /health route', () => {
    expect(inRuntime('HEALTHCHECK')).toHaveLength(1);
    expect(argumentsOf(inRuntime('HEALTHCHECK')[0])).toMatch(new RegExp(`^CMD .*'${healthPath}'\\)`));
    expect(argumentsOf(inRuntime('HEALTHCHECK')[0])).not.toContain(deepHealthPath);
  });

  test('when the container is stopped, then SIGTERM reaches node itself', () => {
    expect(argumentsOf(inRuntime('CMD').at(-1))).toBe('["node", "dist/app/server.js"]');
    expect(inRuntime('ENTRYPOINT')).toEqual([]);
    expect(argumentsOf(inRuntime('STOPSIGNAL')[0])).toBe('SIGTERM');
  });

  test('when the build context is sent, then local state, secrets and build output stay out', () => {
    const ignored = readFileSync(path.join(repositoryRoot, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', 'dist', 'release', '.data', '.env', '.env.*']));
  });
});
