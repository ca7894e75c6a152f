import { readdirSync, readFileSync } from 'node:fs';

// Processes seen through Linux's /proc: which a test may signal.

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The process name (field 2) may hold spaces; the parent is the second field after its ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function allProcesses(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** The processes whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  return allProcesses().filter((candidate) => parentOf(candidate) === pid);
}

/** The postmaster listening on `port` and all its backends and helpers. */
function postgresProcesses(port: number): number[] {
  const pids = allProcesses();
  const postmaster = pids.find((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return args[0]?.endsWith('/postgres') && args[args.indexOf('-p') + 1] === String(port);
    } catch {
      return false;
    }
  });
  if (!postmaster) throw new Error(`no postmaster found for port ${port}`);
  return [postmaster, ...childrenOf(postmaster)];
}

/**
 * Freezes the PostgreSQL server listening on `port` the way a network partition or a hung host
 * looks to a client: it stops answering but keeps its sockets open. Returns the function that
 * resumes it (safe to call twice).
 */
export function freezePostgres(port: number): () => void {
  let frozen = postgresProcesses(port);
  for (const pid of frozen) process.kill(pid, 'SIGSTOP');
  return () => {
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    frozen = [];
  };
}
