import '../../dev/quiet-sdk-warning';
import { Command } from 'commander';
import { local } from '../../app/contracts';
import { createS3Client } from '../../app/platform/aws-clients';
import { LabClient } from '../chaos/local';
import { readLabFile } from '../lab/lab-file';
import { wholeNumber } from '../services/cli-options';
import { measureBackupLag } from './measure';

const program = new Command('npm run backup-lag --')
  .description(
    "Measures how far the lab's backup copy trails the wiki: saves pages through the public port at a steady rate, " +
      'reads each acknowledged revision back from the backup bucket, and reports the lag (p50, p99, max) and the ' +
      'acknowledged saves the backup never showed. With --kill, crashes instances during the load. Exits 1 if any is missing.',
  )
  .option('--writers <n>', 'logged-in writers, each saving its own pages', wholeNumber(1, 50), 4)
  .option('--rate <n>', 'saves per second, all writers together', wholeNumber(1, 200), 4)
  .option('--seconds <n>', 'how long the load lasts', wholeNumber(5, 3600), 60)
  .option('--kill <n>', 'instances to kill (SIGKILL) at even intervals during the load', wholeNumber(0, 20), 0)
  .option('--settle <n>', 'seconds to wait after the load for the backup to show every acknowledged save', wholeNumber(1, 600), 60)
  .option('--lab <dir>', "the lab's state directory", '.lab')
  .option('--json', 'print the report as one JSON line on stdout; progress goes to stderr', false)
  .action(async (options: { writers: number; rate: number; seconds: number; kill: number; settle: number; lab: string; json: boolean }) => {
    const lab = readLabFile(options.lab);
    const client = new LabClient(lab.statusUrl);
    const status = await client.status();
    if (!status.backup) throw new Error('this lab does not report its backup bucket: restart it with this version (npm run lab)');
    const s3 = createS3Client({ region: local.region, endpoint: status.backup.s3Endpoint });
    const log = (line: string) => console.error(line);
    try {
      log(
        `${options.writers} writers, ${options.rate} saves/s for ${options.seconds} s against ${lab.wikiUrl}; ${options.kill} instance kill(s)`,
      );
      const report = await measureBackupLag({
        wikiUrl: lab.wikiUrl,
        s3,
        bucket: status.backup.bucket,
        writers: options.writers,
        rate: options.rate,
        seconds: options.seconds,
        settleSeconds: options.settle,
        runId: Date.now().toString(36),
        kills: options.kill,
        kill: async () => (await client.inject({ fault: 'instance' })).victims.join(', '),
        log,
      });
      if (options.json) console.log(JSON.stringify(report));
      else {
        console.log(
          `acknowledged ${report.acknowledged} saves (${report.unacknowledged} not acknowledged); backup lag p50 ${report.lagP50Ms} ms, ` +
            `p99 ${report.lagP99Ms} ms, max ${report.lagMaxMs} ms; missing ${report.missing}; killed ${report.killed.length ? report.killed.join(', ') : 'none'}`,
        );
      }
      if (report.missing > 0) process.exitCode = 1;
    } finally {
      s3.destroy();
    }
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`backup-lag: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
