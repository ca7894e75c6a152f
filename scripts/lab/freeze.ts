import { readdirSync, readFileSync } from 'node:fs';

/** The ids of `pid`'s direct children, from /proc (PostgreSQL's backends are the postmaster's). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent pid is the second field after the command name, which may contain spaces.
      const parent = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // The process ended while we looked: nothing to freeze.
    }
  }
  return children;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/**
 * Freezes a server and its children with SIGSTOP, which is what a hung host or a network
 * partition looks like from a client: connections open, nothing answers. The parent first, so it
 * forks no new child meanwhile. Returns the thaw (SIGCONT, children first), safe to call twice.
 */
export function freezeProcessTree(pid: number): () => void {
  signal(pid, 'SIGSTOP');
  const children = childrenOf(pid);
  for (const child of children) signal(child, 'SIGSTOP');
  let thawed = false;
  return () => {
    if (thawed) return;
    thawed = true;
    for (const child of children) signal(child, 'SIGCONT');
    signal(pid, 'SIGCONT');
  };
}
