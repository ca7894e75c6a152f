import { parseServerStats, renderHaproxyConfig } from '../../../scripts/lab/haproxy';

describe('HAProxy configuration', () => {
  const config = renderHaproxyConfig({ frontendPort: 8080, backupSitePort: 9001, s3Port: 9002, slots: 10, socketPath: '/tmp/x.sock' });

  test('when rendered, then it listens on loopback only and exposes the runtime API with admin level', () => {
    expect(config.match(/^\s*bind .*$/gm)).toEqual(['  bind 127.0.0.1:8080', '  bind 127.0.0.1:9001']);
    expect(config).toContain('stats socket /tmp/x.sock mode 600 level admin');
  });

  test('when rendered, then instances come from a disabled server-template checked on /health every second', () => {
    expect(config).toContain('server-template app 1-10 127.0.0.1:9 check disabled');
    expect(config).toContain('http-check send meth GET uri /health');
    expect(config).toMatch(/default-server inter 1s/);
  });

  test('when rendered, then the backup site is a backup server reached with the bucket website Host', () => {
    expect(config).toContain('server backup-site 127.0.0.1:9001 backup');
    expect(config).toContain('http-request set-header Host cloudwiki-backup.s3-website-us-east-1.amazonaws.com');
    expect(config).toContain('server s3rver 127.0.0.1:9002');
  });
});

describe('sticky sessions', () => {
  const options = { frontendPort: 8080, backupSitePort: 9001, s3Port: 9002, slots: 4, socketPath: '/tmp/x.sock' };

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
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight',
    'wiki,FRONTEND,,,0,1,262120,12,0,0,0,0,0,,,,,OPEN,',
    'web,app1,0,0,1,1,,42,0,0,,0,,0,0,0,0,UP,1',
    'web,app2,0,0,0,0,,7,0,0,,0,,0,0,0,0,DOWN 1/2,1',
    'web,backup-site,0,0,0,0,,3,0,0,,0,,0,0,0,0,no check,1',
    'web,BACKEND,0,0,1,1,,52,0,0,0,0,,0,0,0,0,UP,2',
    'backup_site,s3rver,0,0,0,0,,3,0,0,,0,,0,0,0,0,no check,1',
    '',
  ].join('\n');

  test('when parsed, then it returns the web backend servers with status and request counts', () => {
    expect(parseServerStats(csv)).toEqual([
      { name: 'app1', status: 'UP', totalRequests: 42, currentSessions: 1 },
      { name: 'app2', status: 'DOWN 1/2', totalRequests: 7, currentSessions: 0 },
      { name: 'backup-site', status: 'no check', totalRequests: 3, currentSessions: 0 },
    ]);
  });
});
