import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The Debian packages the local services and the lab run on, by the command each provides. */
const systemPackages = {
  postgres: {
    package: 'postgresql',
    path: '/usr/lib/postgresql/15/bin/postgres',
  },
  java: { package: 'openjdk-17-jre-headless', path: 'java' },
  haproxy: { package: 'haproxy', path: 'haproxy' },
} as const;

export type SystemCommand = keyof typeof systemPackages;

const installCommand = `apt-get install -y postgresql haproxy openjdk-17-jre-headless`;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `command`, searching PATH like a shell does. */
function findExecutable(command: string): string | undefined {
  if (command.includes('/')) return isExecutable(command) ? command : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/**
 * Fails with one message naming every missing Debian package and the exact command that installs
 * them, so a person fixes everything in one go instead of one error at a time.
 */
export function requireSystemCommands(commands: SystemCommand[]): void {
  const missing = commands.filter((command) => !findExecutable(systemPackages[command].path));
  if (missing.length === 0) return;
  const packages = missing.map((command) => systemPackages[command].package).join(' ');
  throw new Error(
    `missing system packages: ${packages} (needed for ${missing.join(', ')}).\n` +
      `Install them with:  apt-get install -y ${packages}\n(or all of the lab's at once: ${installCommand})`,
  );
}
