import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { deployNodeMajor, productionRuntimeEnv } from '../app/contracts';

// app/contracts.ts is the one home of the names that cross a boundary. TypeScript imports it;
// the files below cannot (a Dockerfile, shell scripts run on EC2), so this test holds each of
// them to it. A new place that names the deployed Node.js major joins `nodeMajorHomes`.

const repositoryRoot = path.join(__dirname, '..');
const read = (file: string) => readFileSync(path.join(repositoryRoot, file), 'utf8');

/** The Node.js majors a file names, found by the patterns it uses. */
function majorsIn(text: string, patterns: RegExp[]): number[] {
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => Number(match[1])));
}

function dockerfileNodeMajors(): number[] {
  const dockerfile = DockerfileParser.parse(read('Dockerfile'));
  const image = dockerfile
    .getARGs()
    .find((arg) => arg.getProperty()?.getName() === 'NODE_IMAGE')
    ?.getProperty()
    ?.getValue();
  return majorsIn(image ?? '', [/^node:(\d+)/g]);
}

/** The bees' EC2 boot script: a real script file once it has one, bash inside TypeScript before. */
function beesBootFile(): string {
  const script = 'scripts/bees/agent-boot.sh';
  return existsSync(path.join(repositoryRoot, script)) ? script : 'scripts/bees/user-data.ts';
}

const nodeMajorHomes: { file: string; majors: () => number[] }[] = [
  { file: 'Dockerfile (ARG NODE_IMAGE)', majors: dockerfileNodeMajors },
  {
    file: 'scripts/bootstrap/bootstrap.sh (NODE_MAJOR default)',
    majors: () => majorsIn(read('scripts/bootstrap/bootstrap.sh'), [/^NODE_MAJOR="\$\{NODE_MAJOR:-(\d+)\}"$/gm]),
  },
  {
    file: `${beesBootFile()} (nodejsNN packages, node-NN binaries)`,
    majors: () => majorsIn(read(beesBootFile()), [/\bnodejs(\d+)\b/g, /\bnode-(\d+)\b/g, /Node\.js (\d+)\b/g]),
  },
];

describe('contracts that cannot import app/contracts.ts', () => {
  test.each(nodeMajorHomes)('when $file names the deployed Node.js major, then it is deployNodeMajor', ({ majors }) => {
    const found = majors();
    expect(found.length).toBeGreaterThan(0);
    expect([...new Set(found)]).toEqual([deployNodeMajor]);
  });
});

/** NAME=value settings a file gives the production start, found by the pattern it writes them in. */
function settingsIn(text: string, pattern: RegExp): Record<string, string> {
  return Object.fromEntries([...text.matchAll(pattern)].map((match) => [match[1]!, match[2]!]));
}

function dockerfileEnv(): Record<string, string> {
  const envs = DockerfileParser.parse(read('Dockerfile')).getENVs();
  return Object.fromEntries(envs.flatMap((env) => env.getProperties().map((property) => [property.getName(), property.getValue() ?? ''])));
}

const runtimeEnvHomes: { file: string; settings: () => Record<string, string> }[] = [
  { file: 'Dockerfile (ENV)', settings: dockerfileEnv },
  {
    file: 'scripts/bootstrap/bootstrap.sh (the systemd unit)',
    settings: () => settingsIn(read('scripts/bootstrap/bootstrap.sh'), /^Environment=(\w+)=(\S+)$/gm),
  },
  {
    file: 'package.json (start:prod)',
    settings: () =>
      settingsIn((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['start:prod']!, /(\w+)=(\S+) /g),
  },
];

describe('the production runtime environment', () => {
  test.each(runtimeEnvHomes)('when $file starts the app, then it sets productionRuntimeEnv', ({ settings }) => {
    expect(settings()).toMatchObject(productionRuntimeEnv);
  });
});
