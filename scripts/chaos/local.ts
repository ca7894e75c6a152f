import { setTimeout as sleep } from 'node:timers/promises';
import type { ActiveFault, FaultRequest } from '../lab/faults';
import type { DomainStatus } from '../lab/domain';
import type { LabStatus } from '../lab/lab';
import type { RollRecord } from '../lab/release-roll';

/** A client for the running lab's control interface (the status server, on loopback). */
export class LabClient {
  constructor(private readonly statusUrl: string) {}

  async status(): Promise<LabStatus> {
    return (await this.call('GET', 'api/status')) as LabStatus;
  }

  async inject(request: FaultRequest): Promise<ActiveFault> {
    const { fault, ...body } = request;
    return (await this.call('POST', `api/faults/${fault}`, body)) as ActiveFault;
  }

  /** Starts rolling a staged release (a directory under the lab's releases/) through the group. */
  async release(body: { directory: string; canarySeconds?: number; healthTimeoutSeconds?: number }): Promise<RollRecord> {
    return (await this.call('POST', 'api/releases', body)) as RollRecord;
  }

  /** The manual lever: holds the domain on the backup copy, or lets the health check decide again. */
  async sendDomainTo(target: 'backup' | 'live'): Promise<DomainStatus> {
    return (await this.call('POST', `api/domain/${target}`)) as DomainStatus;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.statusUrl), {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new Error(`the lab at ${this.statusUrl} is not answering (${(error as Error).message}): is \`npm run lab\` running?`, {
        cause: error,
      });
    }
    const answer = (await response.json()) as { error?: string };
    if (!response.ok) throw new Error(`the lab refused: ${answer.error ?? response.statusText}`);
    return answer;
  }
}

function summary(status: LabStatus): string {
  const inService = status.instances.filter((instance) => instance.lifecycle === 'InService' && instance.health === 'Healthy');
  const pending = status.instances.filter((instance) => instance.lifecycle === 'Pending').length;
  return [
    `${inService.length}/${status.group.desired} in service${pending ? `, ${pending} pending` : ''}`,
    status.loadBalancer.servingBackupSite ? 'LB: BACKUP SITE' : 'LB: instances',
    ...(status.domain ? [status.domain.target === 'backup' ? 'DOMAIN: BACKUP' : 'domain: live'] : []),
    `postgres ${status.services.postgres}`,
    ...(status.services.replica && status.services.replica !== 'none' ? [`replica ${status.services.replica}`] : []),
    `dynamodb ${status.services.dynamodb}`,
  ].join(' · ');
}

/**
 * Injects a fault and follows the lab until it has recovered: the fault's time is over and the
 * group is back to its desired capacity. Prints one line a second while anything changes.
 */
export async function runLocalFault(
  client: LabClient,
  request: FaultRequest,
  options: { follow: boolean; timeoutSeconds: number; log: (line: string) => void; onInjected?: (fault: ActiveFault) => void },
): Promise<ActiveFault> {
  const fault = await client.inject(request);
  options.log(`injected: ${fault.description}${fault.victims.length ? ` [victims: ${fault.victims.join(', ')}]` : ''}`);
  options.onInjected?.(fault);
  if (!options.follow) return fault;
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  let last = '';
  while (Date.now() < deadline) {
    await sleep(1000);
    const status = await client.status();
    const line = summary(status);
    if (line !== last) options.log(line);
    last = line;
    const faultOver = !status.faults.active.some((active) => active.id === fault.id);
    const inService = status.instances.filter((instance) => instance.lifecycle === 'InService' && instance.health === 'Healthy').length;
    // A failover is over once the old primary serves again, as the new replica.
    const databaseBack = status.services.postgres === 'running' && status.services.replica !== 'rebuilding';
    // Held on the backup by hand, the domain is not the fault's to bring back.
    const domainBack = status.domain?.target !== 'backup' || status.domain.forcedToBackup;
    if (faultOver && databaseBack && domainBack && inService >= status.group.desired && !status.loadBalancer.servingBackupSite) {
      options.log(`recovered ${Math.round((Date.now() - fault.startedAt) / 1000)} s after the fault began`);
      return fault;
    }
  }
  throw new Error(`the lab had not recovered ${options.timeoutSeconds} s after the fault: see its status page`);
}
