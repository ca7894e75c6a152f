import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config';
import type { InstanceIdentity } from './platform/instance';
import { createLogger, type Logger } from './platform/logger';

// One worker per vCPU (node:cluster): the primary prepares the database once, forks the workers,
// replaces one that crashes, and on SIGTERM tells every worker to drain at the same moment, so
// the whole instance answers 503 on /health together and they all wait out one drain delay.
// The primary serves nothing itself; node:cluster hands it the listening socket and it deals
// connections to the workers in turn.

/** What a worker needs from the primary before it starts. */
export interface WorkerAssignment {
  identity: InstanceIdentity;
  /** 1..N; a replacement takes the number of the worker it replaces. */
  worker: number;
}

export interface ClusterOptions {
  workers: number;
  config: Config;
  /** Runs once in the primary before any worker starts (migrations, seeding, the identity). */
  prepare(logger: Logger): Promise<InstanceIdentity>;
  /** Runs in each worker: starts serving and installs the worker's own signal handlers. */
  startWorker(assignment: WorkerAssignment): { starting: Promise<{ url: string }>; stop(reason: string): void };
}

// IPC between primary and workers. The worker asks for its assignment (rather than the primary
// sending it right after fork) because a message that arrives before the worker listens is lost.
type ToPrimary = { cloudwiki: 'ready' } | { cloudwiki: 'listening'; url: string };
type ToWorker = { cloudwiki: 'assignment'; assignment: WorkerAssignment } | { cloudwiki: 'drain'; reason: string };

export function runCluster(options: ClusterOptions): void {
  if (cluster.isPrimary) runPrimary(options);
  else runWorker(options);
}

function runWorker(options: ClusterOptions): void {
  const onMessage = (message: ToWorker) => {
    if (message.cloudwiki === 'assignment') {
      const { starting, stop } = options.startWorker(message.assignment);
      process.on('message', (next: ToWorker) => next.cloudwiki === 'drain' && stop(next.reason));
      starting.then(
        ({ url }) => send({ cloudwiki: 'listening', url }),
        (error) => {
          console.error('cloudwiki worker failed to start:', error);
          process.exit(1);
        },
      );
    }
  };
  process.once('message', onMessage);
  send({ cloudwiki: 'ready' });
}

function send(message: ToPrimary): void {
  process.send?.(message);
}

function runPrimary({ workers: count, config, prepare }: ClusterOptions): void {
  const logger = createLogger(config.LOG_LEVEL).child({ role: 'primary' });
  const workerNumber = new Map<Worker, number>();
  const listening = new Set<Worker>();
  let identity: InstanceIdentity | undefined;
  let announced = false;
  let drainReason: string | undefined;
  let failed = false;

  const fork = (worker: number) => {
    const child = cluster.fork();
    workerNumber.set(child, worker);
  };

  cluster.on('message', (child, message: ToPrimary) => {
    const worker = workerNumber.get(child);
    if (worker === undefined || !identity) return;
    if (message.cloudwiki === 'ready') {
      child.send({ cloudwiki: 'assignment', assignment: { identity, worker } } satisfies ToWorker);
      // A worker forked just as the drain began must drain too.
      if (drainReason) child.send({ cloudwiki: 'drain', reason: drainReason } satisfies ToWorker);
    } else if (message.cloudwiki === 'listening') {
      listening.add(child);
      if (!announced && listening.size === count) {
        announced = true;
        logger.info({ url: message.url, workers: count, instance: identity.id, az: identity.az }, 'cloudwiki listening');
      }
    }
  });

  cluster.on('exit', (child, code, signal) => {
    const worker = workerNumber.get(child);
    const wasListening = listening.delete(child);
    workerNumber.delete(child);
    if (drainReason) {
      if (code !== 0) failed = true;
      if (workerNumber.size === 0) {
        logger.info({ failed }, 'every worker has drained; exiting');
        process.exit(failed ? 1 : 0);
      }
      return;
    }
    if (!wasListening) {
      // A worker that cannot even start (a port in use, a bad certificate) will not do better
      // the next time: stop, so that systemd and the Auto Scaling group see a failed instance.
      logger.error({ worker, code, signal }, 'a worker failed to start; stopping the instance');
      failed = true;
      drain('a worker failed to start');
      return;
    }
    logger.error({ worker, code, signal }, 'a worker exited; starting a replacement');
    if (worker !== undefined) fork(worker);
  });

  const drain = (reason: string) => {
    if (drainReason) {
      logger.info({ reason }, 'already draining; the drain continues');
      return;
    }
    drainReason = reason;
    logger.info({ reason, workers: workerNumber.size }, 'draining every worker');
    for (const child of workerNumber.keys()) {
      if (child.isConnected()) child.send({ cloudwiki: 'drain', reason } satisfies ToWorker);
    }
    if (workerNumber.size === 0) process.exit(failed ? 1 : 0);
    // Each worker bounds its own drain; this only catches one that hangs anyway.
    setTimeout(
      () => {
        logger.error({ left: workerNumber.size }, 'workers still running after the drain bound; killing them');
        for (const child of workerNumber.keys()) child.process.kill('SIGKILL');
        process.exit(1);
      },
      config.DRAIN_DELAY_MS + config.DRAIN_TIMEOUT_MS + 10_000,
    ).unref();
  };
  // Installed before preparing: a SIGTERM during migrations must still end in a clean exit.
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));

  prepare(logger).then(
    (prepared) => {
      identity = prepared;
      if (drainReason) return process.exit(0);
      logger.info({ workers: count }, 'database ready; starting workers');
      for (let worker = 1; worker <= count; worker += 1) fork(worker);
    },
    (error) => {
      console.error('cloudwiki failed to start:', error);
      process.exit(1);
    },
  );
}
