import nunjucks from 'nunjucks';
import { join } from 'node:path';
import type { LabStatus } from './lab';
import type { LocalFault } from './faults';

/** The status page's chaos buttons: every local fault, in the words a person clicks on. */
const faultButtons: { name: LocalFault; label: string; help: string }[] = [
  { name: 'instance', label: 'kill an instance', help: 'SIGKILL to a random in-service instance: a crash' },
  { name: 'sigterm', label: 'SIGTERM an instance', help: 'a bare SIGTERM, no help from the load balancer: the app drains itself' },
  { name: 'az', label: 'fail an AZ', help: 'every instance in a random zone dies (and the replica if it lives there)' },
  { name: 'database', label: 'stop the database', help: 'PostgreSQL (the primary) stopped for 20 s' },
  { name: 'db-freeze', label: 'freeze the database', help: 'SIGSTOP on PostgreSQL and its backends for 20 s: a hung primary' },
  { name: 'replica', label: 'stop the replica', help: 'the read replica stopped for 20 s' },
  { name: 'db-failover', label: 'fail the database over', help: 'promote the replica and move the writer endpoint to it' },
  { name: 'sessions', label: 'stop the sessions store', help: 'DynamoDB Local stopped for 20 s' },
  { name: 'all-web', label: 'kill every instance', help: 'the load balancer serves the read-only backup site for 20 s' },
];

// Autoescaping: instance output, activity causes and fault descriptions are data, never HTML.
const views = new nunjucks.Environment(new nunjucks.FileSystemLoader(join(__dirname, 'views')), {
  autoescape: true,
  throwOnUndefined: false,
});
views.addFilter('time', (value: string | number | undefined) => (value === undefined ? '' : new Date(value).toISOString().slice(11, 19)));
/** The pill colour: good when the value is the healthy one, amber while in transition, red otherwise. */
views.addFilter('tone', (value: string, good: string) =>
  value === good ? 'ok' : value === 'Pending' || value === 'InProgress' || /^(UP|DOWN) \d/.test(value) ? 'warn' : 'bad',
);

function context(status: LabStatus) {
  return {
    status,
    faults: faultButtons,
    inService: status.instances.filter((instance) => instance.lifecycle === 'InService' && instance.health === 'Healthy').length,
    activeFaultIds: status.faults.active.map((fault) => fault.id),
    renderedAt: new Date().toISOString().slice(11, 19),
  };
}

/** The whole page: the figures as they are now, and a script that refreshes them every second. */
export function renderStatusPage(status: LabStatus): string {
  return views.render('status.njk', context(status));
}

/** Just the figures, which the page fetches every second and swaps in. */
export function renderStatusLive(status: LabStatus): string {
  return views.render('status-live.njk', context(status));
}
