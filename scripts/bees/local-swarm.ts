import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { BeeMessage, QueenMessage } from './agent';
import type { BeeProgress, BeeResult, BeeSpec } from './spec';

const agentPath = path.join(__dirname, `agent${path.extname(__filename)}`);

/** Under tsx or jest the agent is TypeScript; compiled, it is plain JavaScript. */
function agentExecArgv(): string[] {
  return agentPath.endsWith('.ts') ? ['--import', require.resolve('tsx')] : [];
}

function runLocalBee(spec: BeeSpec, onProgress: (progress: BeeProgress) => void, children: Set<ChildProcess>): Promise<BeeResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(agentPath, [], { execArgv: agentExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    let settled = false;
    child.on('message', (message: BeeMessage) => {
      if (message.type === 'progress') onProgress({ bee: spec.bee, requests: message.requests, errors: message.errors });
      else if (message.type === 'result') {
        settled = true;
        resolve(message.result);
      } else {
        settled = true;
        reject(new Error(`bee ${spec.bee} failed: ${message.message}`));
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!settled) reject(new Error(`bee ${spec.bee} exited (${signal ?? `code ${code}`}) before reporting`));
    });
    child.send({ type: 'attack', spec } satisfies QueenMessage);
  });
}

/** Runs each spec in its own process: N processes use N cores, as N EC2 bees use N machines. */
export async function attackWithLocalBees(specs: readonly BeeSpec[], onProgress: (progress: BeeProgress) => void): Promise<BeeResult[]> {
  const children = new Set<ChildProcess>();
  try {
    return await Promise.all(specs.map((spec) => runLocalBee(spec, onProgress, children)));
  } catch (error) {
    // One bee failed (a login refused, say): the report would be partial, so stop the others now.
    for (const child of children) child.kill();
    throw error;
  }
}
