// A bee: runs one share of an attack and reports its result. Started by the queen either as a
// local child process (`--local N`, spec and result over the IPC channel) or on an EC2 instance by
// SSM Run Command (spec as a base64 argument, result as one JSON line on stdout).
import { runBee } from './bee';
import type { BeeSpec } from './spec';

export type QueenMessage = { type: 'attack'; spec: BeeSpec };
export type BeeMessage =
  | { type: 'progress'; requests: number; errors: number }
  | { type: 'result'; result: import('./spec').BeeResult }
  | { type: 'failed'; message: string };

function send(message: BeeMessage): Promise<void> {
  return new Promise((resolve) => process.send?.(message, () => resolve()) ?? resolve());
}

async function runFromQueen(): Promise<void> {
  const message = await new Promise<QueenMessage>((resolve) => process.once('message', resolve));
  try {
    const result = await runBee(message.spec, (progress) => void send({ type: 'progress', ...progress }));
    await send({ type: 'result', result });
  } catch (error) {
    await send({ type: 'failed', message: (error as Error).message });
  }
  process.disconnect?.();
}

async function runFromArguments(encodedSpec: string): Promise<void> {
  const spec = JSON.parse(Buffer.from(encodedSpec, 'base64').toString('utf8')) as BeeSpec;
  const result = await runBee(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const specFlag = process.argv.indexOf('--spec-base64');
if (specFlag !== -1) {
  runFromArguments(process.argv[specFlag + 1] ?? '').catch((error: Error) => {
    process.stderr.write(`bee failed: ${error.message}\n`);
    process.exitCode = 1;
  });
} else if (process.send) {
  void runFromQueen();
} else {
  process.stderr.write('bees agent: start it with --spec-base64 SPEC, or let `bees attack` start it\n');
  process.exitCode = 2;
}
