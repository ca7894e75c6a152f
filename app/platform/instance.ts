import { hostname } from 'node:os';

export interface InstanceIdentity {
  id: string;
  az: string;
  /** The node:cluster worker that answers, when the instance runs more than one. */
  worker?: number;
}

/**
 * The X-Served-By value: `<instance-id>/<az>`, plus `/w<N>` only when the instance runs several
 * workers. Tools (the game day, the lab) take the instance from before the first '/'.
 */
export function servedByLabel({ id, az, worker }: InstanceIdentity): string {
  return worker ? `${id}/${az}/w${worker}` : `${id}/${az}`;
}

export interface IdentityOptions {
  /** INSTANCE_ID / INSTANCE_AZ: the lab gives each process its own. */
  overrideId?: string;
  overrideAz?: string;
  /** Where to find the EC2 instance metadata service (IMDSv2); the tests point it at a stand-in. */
  imdsEndpoint?: string;
  timeoutMs?: number;
}

/**
 * Which instance and AZ this process is, read once at start. IMDSv2 needs a session token
 * first; each call has a short timeout because off EC2 nothing answers, and the fallback
 * (hostname/pid) must not delay start-up by more than a second or so.
 */
export async function resolveInstanceIdentity(options: IdentityOptions): Promise<InstanceIdentity> {
  const fallback = { id: `${hostname()}/${process.pid}`, az: 'local' };
  if (options.overrideId && options.overrideAz) return { id: options.overrideId, az: options.overrideAz };
  let fromImds: InstanceIdentity | null = null;
  if (options.imdsEndpoint) fromImds = await readImds(options.imdsEndpoint, options.timeoutMs ?? 500).catch(() => null);
  return {
    id: options.overrideId ?? fromImds?.id ?? fallback.id,
    az: options.overrideAz ?? fromImds?.az ?? fallback.az,
  };
}

async function readImds(endpoint: string, timeoutMs: number): Promise<InstanceIdentity> {
  const base = endpoint.replace(/\/+$/, '');
  const tokenResponse = await fetch(`${base}/latest/api/token`, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!tokenResponse.ok) throw new Error(`IMDS token request failed: ${tokenResponse.status}`);
  const token = await tokenResponse.text();
  const get = async (path: string) => {
    const response = await fetch(`${base}/latest/meta-data/${path}`, {
      headers: { 'X-aws-ec2-metadata-token': token },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`IMDS ${path} failed: ${response.status}`);
    return (await response.text()).trim();
  };
  const [id, az] = await Promise.all([get('instance-id'), get('placement/availability-zone')]);
  return { id, az };
}
