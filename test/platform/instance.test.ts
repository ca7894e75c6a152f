import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveInstanceIdentity } from '../../app/platform/instance';

// A stand-in for the EC2 instance metadata service that, like the real IMDSv2, answers metadata
// only with a token obtained by PUT.
function fakeImds(): Promise<{ server: Server; endpoint: string; tokenRequests: () => number }> {
  let tokenRequests = 0;
  const server = createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
      tokenRequests += 1;
      return res.end('token-123');
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== 'token-123') return res.writeHead(401).end();
    if (req.url === '/latest/meta-data/instance-id') return res.end('i-0abc123def4567890');
    if (req.url === '/latest/meta-data/placement/availability-zone') return res.end('eu-west-1b');
    res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tokenRequests: () => tokenRequests }),
    ),
  );
}

test('when IMDSv2 answers, then the identity comes from it, using a session token', async () => {
  const imds = await fakeImds();
  try {
    expect(await resolveInstanceIdentity({ imdsEndpoint: imds.endpoint })).toEqual({ id: 'i-0abc123def4567890', az: 'eu-west-1b' });
    expect(imds.tokenRequests()).toBe(1);
  } finally {
    imds.server.close();
  }
});

test('when the lab overrides the identity, then IMDS is not asked', async () => {
  const imds = await fakeImds();
  try {
    expect(await resolveInstanceIdentity({ overrideId: 'lab-2', overrideAz: 'lab-b', imdsEndpoint: imds.endpoint })).toEqual({
      id: 'lab-2',
      az: 'lab-b',
    });
    expect(imds.tokenRequests()).toBe(0);
  } finally {
    imds.server.close();
  }
});

test('when nothing answers, then it falls back to hostname/pid', async () => {
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const identity = await resolveInstanceIdentity({
      imdsEndpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      timeoutMs: 200,
    });
    expect(identity.id).toMatch(new RegExp(`/${process.pid}$`));
    expect(identity.az).toBe('local');
  } finally {
    silent.closeAllConnections();
    silent.close();
  }
});
