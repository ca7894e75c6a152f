import { backupIntervals, DomainWatch } from '../../../scripts/lab/domain';

describe('DomainWatch', () => {
  test('when the live server goes down and comes back, then it records both flips with their times', () => {
    const watch = new DomainWatch();
    watch.update('UP', 1_000);
    watch.update('UP 2/3', 2_000);
    watch.update('DOWN', 3_000);
    watch.update('DOWN 1/3', 4_000);
    watch.update('UP', 5_000);
    expect(watch.status()).toMatchObject({ target: 'live', forcedToBackup: false });
    expect(watch.status().flips).toEqual([
      { at: 3_000, to: 'backup', forced: false },
      { at: 5_000, to: 'live', forced: false },
    ]);
  });

  test('when the lever puts the live server in maintenance, then the domain is on the backup, forced', () => {
    const watch = new DomainWatch();
    watch.update('MAINT', 1_000);
    expect(watch.status()).toMatchObject({ target: 'backup', forcedToBackup: true, flips: [{ at: 1_000, to: 'backup', forced: true }] });
  });
});

describe('backupIntervals', () => {
  const flips = [
    { at: 10, to: 'backup' as const, forced: false },
    { at: 30, to: 'live' as const, forced: false },
    { at: 50, to: 'backup' as const, forced: false },
  ];

  test('when the domain flipped inside the window, then each stay on the backup is cut to the window', () => {
    expect(backupIntervals(flips, 0, 40)).toEqual([{ start: 10, end: 30 }]);
    expect(backupIntervals(flips, 20, 60)).toEqual([
      { start: 20, end: 30 },
      { start: 50, end: 60 },
    ]);
  });

  test('when nothing flipped inside the window, then it is empty, or the whole window if the domain was already on the backup', () => {
    expect(backupIntervals(flips, 31, 49)).toEqual([]);
    expect(backupIntervals(flips, 60, 70)).toEqual([{ start: 60, end: 70 }]);
  });
});
