import { setTimeout as sleep } from 'node:timers/promises';
import { readLabFile } from './lab-file';
import type { LabStatus } from './lab';
import { stageRelease, type ReleaseFault } from './release-builds';
import type { RollRecord } from './release-roll';

export interface ReleaseCommandOptions {
  root: string;
  stateDir?: string;
  build?: string;
  fault?: ReleaseFault;
  healthTimeout: number;
  canary: number;
  timeout: number;
  log: (line: string) => void;
}

async function call(statusUrl: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, statusUrl), {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await response.json()) as { error?: string };
  if (!response.ok) throw new Error(`the lab refused: ${answer.error ?? response.statusText}`);
  return answer;
}

const clock = (at: number) => new Date(at).toISOString().slice(11, 19);

/**
 * `npm run lab -- release`: stages a build as a new release of the running lab, asks the lab to
 * roll it through the group, and prints the roll's steps until it ends. Resolves with the final
 * record; its state says whether the release went out ('succeeded') or was rolled back.
 */
export async function runReleaseCommand(options: ReleaseCommandOptions): Promise<RollRecord> {
  const lab = readLabFile(options.stateDir);
  const staged = stageRelease({
    root: options.root,
    stateDir: lab.stateDir,
    build: options.build,
    fault: options.fault,
    progress: options.log,
  });
  options.log(`release ${staged.version} staged in ${staged.directory}; rolling it through the group (watch ${lab.statusUrl})`);
  const started = (await call(lab.statusUrl, 'POST', 'api/releases', {
    directory: staged.directory,
    healthTimeoutSeconds: options.healthTimeout,
    canarySeconds: options.canary,
  })) as RollRecord;
  const deadline = Date.now() + options.timeout * 1000;
  let printed = 0;
  let lastVersions = '';
  for (;;) {
    const status = (await call(lab.statusUrl, 'GET', 'api/status')) as LabStatus;
    const record = status.releases?.rolls.find((roll) => roll.id === started.id);
    if (!record) throw new Error(`the lab no longer knows roll ${started.id}`);
    for (const event of record.events.slice(printed)) options.log(`${clock(event.at)} ${event.message}`);
    printed = record.events.length;
    const versions = Object.entries(record.versions.at(-1)?.inService ?? {})
      .map(([version, count]) => `${version}: ${count}`)
      .join(', ');
    if (versions && versions !== lastVersions) options.log(`         in service: ${versions}`);
    lastVersions = versions;
    if (record.endedAt !== undefined) return record;
    if (Date.now() > deadline) throw new Error(`the roll had not ended after ${options.timeout} s: see ${lab.statusUrl}`);
    await sleep(1000);
  }
}

/** The figures a person wants at the end of a roll, one line each. */
export function rollSummary(record: RollRecord): string[] {
  const seconds = (at: number | undefined) => (at === undefined ? 'n/a' : `${((at - record.startedAt) / 1000).toFixed(1)} s`);
  return [
    `${record.state}: ${record.from} → ${record.to}${record.reason ? ` (${record.reason})` : ''}`,
    `roll took ${seconds(record.endedAt)}; first traffic to ${record.to} after ${seconds(record.firstTrafficAt)}; ` +
      `detected bad after ${seconds(record.detectedAt)}; back on ${record.from} after ${seconds(record.backOnPreviousAt)}`,
    `instances that served ${record.to}: ${record.servedNewRelease.length}`,
  ];
}
