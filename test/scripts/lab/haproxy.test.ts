import path from 'node:path';
import { deepHealthPath } from '../../../app/contracts';
import {
  domainHealthCheck,
  drainDelayMs,
  parseServerStats,
  readOnlyBodies,
  readOnlyMessage,
  renderHaproxyConfig,
} from '../../../scripts/lab/haproxy';
import { readTemplate } from '../../../scripts/lint-infra/cfn-yaml';

const readOnlyFiles = { json: '/tmp/ro.json', html: '/tmp/ro.html' };

describe('HAProxy configuration', () => {
  const config = renderHaproxyConfig({
    frontendPort: 8080,
    backupSitePort: 9001,
    s3Port: 9002,
    slots: 10,
    socketPath: '/tmp/x.sock',
    readOnlyFiles,
  });

  test('when rendered, then it listens on loopback only and exposes the runtime API with admin level', () => {
    expect(config.match(/^\s*bind .*$/gm)).toEqual(['  bind 127.0.0.1:8080', '  bind 127.0.0.1:9001']);
    expect(config).toContain('stats socket /tmp/x.sock mode 600 level admin');
  });

  test('when rendered, then instances come from a disabled server-template checked on /health every second', () => {
    expect(config).toContain('server-template app 1-10 127.0.0.1:9 check disabled');
    expect(config).toContain('http-check send meth GET uri /health');
    expect(config).toMatch(/default-server inter 1000ms/);
  });

  test('when rendered, then the backup site is a backup server reached with the bucket website Host', () => {
    expect(config).toContain('server backup-site 127.0.0.1:9001 backup');
    expect(config).toContain('http-request set-header Host cloudwiki-backup.s3-website-us-east-1.amazonaws.com');
    expect(config).toContain('server s3rver 127.0.0.1:9002');
  });

  test('when rendered, then the backup site passes only GET and HEAD and answers other methods itself with 503', () => {
    const backupSection = config.slice(config.indexOf('listen backup_site'));
    expect(backupSection).toContain('acl read_method method GET HEAD');
    expect(backupSection).toMatch(
      /http-request return status 503 content-type application\/json file \/tmp\/ro.json .* if !read_method wants_json/,
    );
    expect(backupSection).toMatch(
      /http-request return status 503 content-type "text\/html; charset=utf-8" file \/tmp\/ro.html .* if !read_method\n/,
    );
    // The read-only answers come before the request is passed on to the bucket.
    expect(backupSection.indexOf('http-request return')).toBeLessThan(backupSection.indexOf('server s3rver'));
  });

  test('when the read-only bodies are built, then both say nothing was saved, and the JSON one parses', () => {
    const bodies = readOnlyBodies();
    expect(JSON.parse(bodies.json)).toEqual({ error: readOnlyMessage, readOnly: true });
    expect(bodies.html).toContain(readOnlyMessage);
    expect(readOnlyMessage).toMatch(/read-only.*Nothing was saved/);
  });

  test('when the health check is 1 s × 2 failures, then the drain delay covers detection plus one interval', () => {
    expect(config).toMatch(/default-server inter 1000ms fastinter 500ms fall 2 rise 2/);
    expect(drainDelayMs).toBe(3000);
  });
});

describe('sticky sessions', () => {
  const options = { frontendPort: 8080, backupSitePort: 9001, s3Port: 9002, slots: 4, socketPath: '/tmp/x.sock', readOnlyFiles };

  test('when off (the default), then no stickiness cookie is inserted', () => {
    expect(renderHaproxyConfig(options)).not.toContain('cookie ');
  });

  test('when on, then a dynamic cookie pins browsers to the servers registered at runtime', () => {
    expect(renderHaproxyConfig({ ...options, sticky: true })).toMatch(
      /cookie LABSTICKY insert indirect nocache dynamic\n\s+dynamic-cookie-key /,
    );
  });
});

describe('show stat parsing', () => {
  const csv = [
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,hrsp_5xx',
    'wiki,FRONTEND,,,0,1,262120,12,0,0,0,0,0,,,,,OPEN,',
    'web,app1,0,0,1,1,,42,0,0,,0,,0,1,0,0,UP,1,5',
    'web,app2,0,0,0,0,,7,0,0,,0,,0,0,0,0,DOWN 1/2,1,0',
    'web,backup-site,0,0,0,0,,3,0,0,,0,,0,0,0,0,no check,1,',
    'web,BACKEND,0,0,1,1,,52,0,0,0,0,,0,0,0,0,UP,2',
    'backup_site,s3rver,0,0,0,0,,3,0,0,,0,,0,0,0,0,no check,1',
    '',
  ].join('\n');

  test('when parsed, then it returns the web backend servers with status, request counts and server errors (5xx + broken responses)', () => {
    expect(parseServerStats(csv)).toEqual([
      { name: 'app1', status: 'UP', totalRequests: 42, currentSessions: 1, serverErrors: 6 },
      { name: 'app2', status: 'DOWN 1/2', totalRequests: 7, currentSessions: 0, serverErrors: 0 },
      { name: 'backup-site', status: 'no check', totalRequests: 3, currentSessions: 0, serverErrors: 0 },
    ]);
  });
});

describe('the DNS layer (Route 53, as the lab plays it)', () => {
  const options = { frontendPort: 8080, backupSitePort: 9001, s3Port: 9002, slots: 4, socketPath: '/tmp/x.sock', readOnlyFiles };
  const config = renderHaproxyConfig({ ...options, loadBalancerPort: 8090 });
  const edge = readTemplate(path.join(__dirname, '../../../infra/04-edge.yaml'));
  const route53 = (edge.Resources as Record<string, { Properties: { HealthCheckConfig: Record<string, number> } }>).DeepHealthCheck!
    .Properties.HealthCheckConfig;

  test('when rendered, then the wiki’s port is the domain, which sends people to the load balancer, or to the backup copy', () => {
    expect(config.match(/^\s*bind .*$/gm)).toEqual(['  bind 127.0.0.1:8080', '  bind 127.0.0.1:8090', '  bind 127.0.0.1:9001']);
    const domain = config.slice(config.indexOf('backend domain'), config.indexOf('frontend wiki'));
    expect(domain).toContain(`http-check send meth GET uri ${deepHealthPath}`);
    expect(domain).toMatch(/server live 127\.0\.0\.1:8090 check /);
    expect(domain).toContain('server backup-copy 127.0.0.1:9001 backup');
  });

  test('when rendered, then it checks with the edge template’s failure threshold, at its interval divided by the stated speed-up', () => {
    expect(domainHealthCheck.intervalMs * domainHealthCheck.speedUp).toBe(route53.RequestInterval! * 1000);
    expect(domainHealthCheck.fall).toBe(route53.FailureThreshold);
    // Route 53 uses one threshold for both directions.
    expect(domainHealthCheck.rise).toBe(route53.FailureThreshold);
    expect(config).toContain(`check inter ${domainHealthCheck.intervalMs}ms fall ${domainHealthCheck.fall} rise ${domainHealthCheck.rise}`);
  });

  test('when there is no load balancer port, then there is no DNS layer', () => {
    expect(renderHaproxyConfig(options)).not.toContain('backend domain');
  });
});
