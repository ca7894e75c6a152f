// The status page: one self-contained HTML document (no CDN, no build step) that polls
// /api/status every second and redraws. textContent everywhere: instance output is never HTML.
export const statusPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cloudwiki lab</title>
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; background: #fafafa; }
  h1 { font-size: 1.3rem; margin: 0 0 .25rem; } h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
  th { background: #f0f0f0; font-weight: 600; }
  .pill { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: .85em; }
  .ok { background: #d9f2dd; color: #14532d; } .bad { background: #fde0e0; color: #7f1d1d; }
  .warn { background: #fff1c2; color: #713f12; } .muted { color: #666; }
  .zones { display: flex; gap: .75rem; } .zone { background: #fff; border: 1px solid #ddd; border-radius: .4rem; padding: .5rem .75rem; min-width: 9rem; }
  .cap { display: flex; gap: 1.5rem; font-size: 1.05rem; } .cap b { font-size: 1.4rem; display: block; }
  button { margin: 0 .4rem .4rem 0; } #error { color: #7f1d1d; }
</style>
</head>
<body>
<h1>cloudwiki lab</h1>
<div class="muted">wiki: <a id="wiki" href="#"></a> · updated <span id="updated">never</span> <span id="error"></span></div>

<h2>Auto Scaling group</h2>
<div class="cap">
  <div>desired<b id="desired">–</b></div><div>min<b id="min">–</b></div><div>max<b id="max">–</b></div>
  <div>in service<b id="inservice">–</b></div><div>load balancer<b id="lb">–</b></div>
</div>
<p class="muted" id="policy"></p>

<h2>Availability Zones</h2>
<div class="zones" id="zones"></div>

<h2>Instances</h2>
<table><thead><tr><th>instance</th><th>AZ</th><th>lifecycle</th><th>health</th><th>load balancer</th><th>requests</th><th>req/s</th><th>CPU %</th><th>pid:port</th><th>launched</th></tr></thead>
<tbody id="instances"></tbody></table>

<h2>Services</h2>
<div id="services"></div>

<h2>Chaos</h2>
<div>
  <button data-fault="instance">kill an instance</button><button data-fault="az">fail an AZ</button>
  <button data-fault="database">stop the database</button><button data-fault="sessions">stop the sessions store</button>
  <button data-fault="all-web">kill every instance</button>
</div>
<table><thead><tr><th>started</th><th>fault</th><th>what</th><th>until</th></tr></thead><tbody id="faults"></tbody></table>

<h2>Activity history</h2>
<table><thead><tr><th>status</th><th>description</th><th>cause</th><th>start</th><th>end</th></tr></thead><tbody id="activities"></tbody></table>

<script>
const $ = (id) => document.getElementById(id);
const time = (value) => (value ? new Date(value).toLocaleTimeString() : '');
function cell(text, className) {
  const td = document.createElement('td');
  if (className) { const span = document.createElement('span'); span.className = 'pill ' + className; span.textContent = text; td.append(span); }
  else td.textContent = text;
  return td;
}
function rows(tbody, items, toCells) {
  tbody.replaceChildren(...items.map((item) => { const tr = document.createElement('tr'); tr.append(...toCells(item)); return tr; }));
}
const tone = (good, value) => (good ? 'ok' : value === 'Pending' || /^(UP|DOWN) \\d/.test(value) || value === 'InProgress' ? 'warn' : 'bad');

function render(s) {
  $('wiki').href = s.wikiUrl; $('wiki').textContent = s.wikiUrl;
  $('desired').textContent = s.group.desired; $('min').textContent = s.group.min; $('max').textContent = s.group.max;
  $('inservice').textContent = s.instances.filter((i) => i.lifecycle === 'InService' && i.health === 'Healthy').length;
  $('lb').replaceChildren(cell(s.loadBalancer.servingBackupSite ? 'serving BACKUP SITE' : 'serving instances', s.loadBalancer.servingBackupSite ? 'bad' : 'ok'));
  $('policy').textContent = (s.group.policy ? 'target tracking: ' + s.group.policy.target + (s.group.policy.metric === 'requests' ? ' requests/s' : ' % CPU') + ' per instance' : 'no scaling policy')
    + (s.group.suspendedProcesses.length ? ' · suspended: ' + s.group.suspendedProcesses.join(', ') : '')
    + ' · backup site answered ' + s.loadBalancer.backupSiteRequests + ' requests';
  $('zones').replaceChildren(...s.zones.map((z) => {
    const div = document.createElement('div'); div.className = 'zone';
    const name = document.createElement('b'); name.textContent = z.name;
    const state = document.createElement('div'); state.append(cell(z.available ? 'available' : 'OUTAGE', z.available ? 'ok' : 'bad').firstChild);
    const count = document.createElement('div'); count.textContent = z.instances + ' instance(s)';
    div.append(name, state, count); return div;
  }));
  rows($('instances'), s.instances, (i) => [
    cell(i.id), cell(i.az), cell(i.lifecycle, tone(i.lifecycle === 'InService', i.lifecycle)), cell(i.health, tone(i.health === 'Healthy', i.health)),
    cell(i.loadBalancerStatus, tone(i.loadBalancerStatus === 'UP', i.loadBalancerStatus)), cell(String(i.requests)), cell(String(i.requestsPerSecond)),
    cell(String(i.cpuPercent)), cell((i.pid ?? '–') + ':' + (i.port ?? '–')), cell(time(i.launchedAt)),
  ]);
  $('services').replaceChildren(...Object.entries(s.services).map(([name, state]) => {
    const span = document.createElement('span'); span.textContent = name + ' ';
    span.append(cell(state, state === 'running' ? 'ok' : 'bad').firstChild, document.createTextNode('  ')); return span;
  }));
  rows($('faults'), s.faults.history, (f) => [cell(time(f.startedAt)), cell(f.fault), cell(f.description),
    cell(f.endsAt ? time(f.endsAt) + (s.faults.active.some((a) => a.id === f.id) ? ' (active)' : '') : '')]);
  rows($('activities'), s.activities, (a) => [cell(a.status, tone(a.status === 'Successful', a.status)), cell(a.description), cell(a.cause), cell(time(a.startTime)), cell(time(a.endTime))]);
}

async function refresh() {
  try {
    const response = await fetch('api/status', { cache: 'no-store' });
    render(await response.json());
    $('updated').textContent = new Date().toLocaleTimeString(); $('error').textContent = '';
  } catch (error) { $('error').textContent = '· the lab is not answering (stopped?)'; }
}
document.querySelectorAll('button[data-fault]').forEach((button) => button.addEventListener('click', async () => {
  const response = await fetch('api/faults/' + button.dataset.fault, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  if (!response.ok) alert((await response.json()).error);
  refresh();
}));
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
