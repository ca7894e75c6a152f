import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where a running lab says where it is; chaos and the game day read it. */
export function labStateFile(stateDir = resolve('.lab')): string {
  return join(stateDir, 'lab.json');
}

export interface LabFile {
  pid: number;
  wikiUrl: string;
  statusUrl: string;
  stateDir: string;
}

/** The running lab's URLs, or an error telling the user to start it. */
export function readLabFile(stateDir?: string): LabFile {
  const file = labStateFile(stateDir);
  if (!existsSync(file)) throw new Error(`no lab is running (${file} does not exist): start one with \`npm run lab\`, or pass --lab URL`);
  return JSON.parse(readFileSync(file, 'utf8')) as LabFile;
}
