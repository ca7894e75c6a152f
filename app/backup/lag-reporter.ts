import type { Logger } from 'pino';
import type { BackupLag, BackupOutbox } from './outbox';

/** The CloudWatch metric infra/03-web.yaml's BackupLagAlarm watches. */
const backupLagMetric = { namespace: 'cloudwiki', name: 'BackupLagSeconds' } as const;

/**
 * The log line that is also a metric: CloudWatch Logs turns any JSON event carrying `_aws` (its
 * embedded metric format) into a data point, so the CloudWatch agent that already ships the app's
 * log delivers the metric too — no PutMetricData permission, no second client.
 */
export function lagMetricFields(lag: BackupLag, now: Date) {
  const seconds = lag.oldestChangeAt ? Math.max(0, (now.getTime() - lag.oldestChangeAt.getTime()) / 1000) : 0;
  return {
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        { Namespace: backupLagMetric.namespace, Dimensions: [[]], Metrics: [{ Name: backupLagMetric.name, Unit: 'Seconds' }] },
      ],
    },
    [backupLagMetric.name]: Math.round(seconds * 10) / 10,
    backupPendingChanges: lag.pendingChanges,
  };
}

/**
 * Logs the backup's lag every intervalMs. Every instance reports the same number (it is read from
 * the database, not from this instance's own work), so the alarm holds while any instance lives.
 */
export function createLagReporter(options: { outbox: BackupOutbox; logger: Logger; now: () => Date; intervalMs: number }) {
  let timer: NodeJS.Timeout | undefined;
  const report = async () => {
    try {
      const lag = await options.outbox.lag();
      options.logger.info(lagMetricFields(lag, options.now()), 'backup lag');
    } catch (error) {
      // The database is away: no data point, which the alarm treats as breaching if it lasts.
      options.logger.debug({ err: error }, 'backup lag could not be read');
    }
  };
  return {
    report,
    start(): void {
      timer ??= setInterval(() => void report(), options.intervalMs);
    },
    stop(): void {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
