import type { GroupInstance } from '../../../scripts/lab/auto-scaling-group';
import type { Haproxy } from '../../../scripts/lab/haproxy';
import { ProcessFleet } from '../../../scripts/lab/instances';

/** HAProxy's runtime API as a log of what was asked of each slot, in the order it arrived. */
function recordingHaproxy() {
  const commands: string[] = [];
  const haproxy: Haproxy = {
    socketPath: '/nowhere',
    stats: async () => [],
    register: async (slot, port, weight) =>
      void commands.push(`register ${slot} ${port}${weight === undefined ? '' : ` weight ${weight}`}`),
    deregister: async (slot) => void commands.push(`deregister ${slot}`),
    setWeight: async (slot, weight) => void commands.push(`weight ${slot} ${weight}`),
    domainStatus: async () => undefined,
    forceDomainToBackup: async () => {},
    stop: async () => {},
  };
  return { haproxy, commands };
}

// A process that runs until it is signalled: enough to stand for an instance here.
const idleApp = { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] };

function fleetWith(haproxy: Haproxy) {
  return new ProcessFleet({ app: idleApp, cwd: process.cwd(), env: {}, haproxy, drainDelayMs: 0, drainTimeoutMs: 500 });
}

const instance = (id: string, slot: number): GroupInstance => ({
  id,
  az: 'lab-a',
  slot,
  lifecycle: 'Pending',
  health: 'Healthy',
  launchedAt: Date.now(),
  release: 'initial',
});

describe('the lab fleet (instances as processes in HAProxy slots)', () => {
  test('when an instance is terminated while its launch is under way, then its slot ends deregistered and no process is left', async () => {
    const { haproxy, commands } = recordingHaproxy();
    const fleet = fleetWith(haproxy);
    const victim = instance('i-early', 3);
    const launched = fleet.launch(victim);
    // The group terminates it before the launch has found its port: a kill right after launch.
    await fleet.terminate(victim);
    await launched;
    expect(commands.filter((command) => command.split(' ')[1] === '3').at(-1)).toBe('deregister 3');
    expect(fleet.isAlive('i-early')).toBe(false);
    await fleet.stopAll();
  });

  test('when an instance still launching is killed, then its process dies as soon as it has started', async () => {
    const { haproxy } = recordingHaproxy();
    const fleet = fleetWith(haproxy);
    const launched = fleet.launch(instance('i-launching', 1));
    expect(fleet.kill('i-launching')).toBe(true);
    await launched;
    const started = fleet.describe('i-launching');
    expect(started).toBeDefined();
    await fleet.whenExited('i-launching');
    expect(fleet.isAlive('i-launching')).toBe(false);
    await fleet.stopAll();
  });

  test('when HAProxy shows a running instance’s slot in maintenance after it registered, then the fleet registers it again', async () => {
    const { haproxy, commands } = recordingHaproxy();
    const fleet = fleetWith(haproxy);
    await fleet.launch(instance('i-lost', 2));
    const port = fleet.describe('i-lost')!.port;
    // Stats read before the registration still show the slot's previous occupant: left alone.
    expect(await fleet.reassertRegistrations({ readAt: 0, slotStatus: () => 'MAINT' })).toEqual([]);
    expect(await fleet.reassertRegistrations({ readAt: Date.now() + 1, slotStatus: () => 'DOWN' })).toEqual([]);
    expect(await fleet.reassertRegistrations({ readAt: Date.now() + 1, slotStatus: () => 'MAINT' })).toEqual(['i-lost']);
    expect(commands.at(-1)).toBe(`register 2 ${port}`);
    await fleet.stopAll();
  });

  test('when a canary is given a small weight as its launch is decided, then it is registered with it, and it can be raised to full later', async () => {
    const { haproxy, commands } = recordingHaproxy();
    const fleet = fleetWith(haproxy);
    const launched = fleet.launch(instance('i-canary', 4));
    await fleet.setWeight('i-canary', 25);
    await launched;
    const port = fleet.describe('i-canary')!.port;
    expect(commands).toEqual([`register 4 ${port} weight 25`]);
    await fleet.setWeight('i-canary', 100);
    expect(commands.at(-1)).toBe('weight 4 100');
    await fleet.stopAll();
  });
});
