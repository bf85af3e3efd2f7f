import { describe, expect, it } from 'vitest';
import { AlarmMonitor } from './alarms';

describe('AlarmMonitor', () => {
  it('raises a rejection alarm on a burst, not on a single bad record, and clears it when quiet', () => {
    const alarms = new AlarmMonitor();
    const seen: number[] = [];
    alarms.subscribe((list) => seen.push(list.length));
    alarms.rejected(3, 'bad-mac', 1_000);
    alarms.rejected(3, 'bad-mac', 30_000); // a lone failure, 29 s later: still no burst
    expect(alarms.active).toEqual([]);
    for (let k = 0; k < 5; k++) alarms.rejected(3, 'stale', 40_000 + k * 500);
    expect(alarms.active).toMatchObject([{ id: 'rejected-burst:3', kind: 'rejected-burst', node: 3, since: 40_000, count: 5 }]);
    expect(alarms.active[0]?.detail).toContain('stale');
    alarms.rejected(3, 'stale', 50_000);
    expect(alarms.active[0]?.count).toBe(6);
    alarms.tick(100_000);
    expect(alarms.active).toHaveLength(1); // 50 s since the last: not yet
    alarms.tick(110_000);
    expect(alarms.active).toEqual([]);
    expect(seen.at(-1)).toBe(0);
  });

  it('keeps alarms apart per meter and per kind', () => {
    const alarms = new AlarmMonitor({ rejectionBurst: 2, unsolicitedBurst: 2 });
    alarms.rejected(1, 'bad-mac', 0);
    alarms.rejected(2, 'bad-mac', 0);
    expect(alarms.active).toEqual([]);
    alarms.unsolicited(2, 1);
    alarms.unsolicited(2, 2);
    alarms.silent(4, true, 5);
    alarms.adapter(true, 6, 'CANable unplugged');
    expect(alarms.active.map((a) => a.id)).toEqual(['forged-requests:2', 'meter-silent:4', 'adapter-lost']);
    alarms.silent(4, false, 7);
    alarms.adapter(false, 8);
    alarms.storage('full', 9);
    expect(alarms.active.map((a) => a.id)).toEqual(['forged-requests:2', 'storage-full']);
    alarms.storage('ok', 10);
    alarms.forget(2);
    expect(alarms.active).toEqual([]);
  });

  it('raises the contracted-power alarm above the tolerated 110 % and clears it back under the contract', () => {
    const alarms = new AlarmMonitor();
    alarms.gridPower(3250, 3000, 0);
    expect(alarms.active).toEqual([]);
    alarms.gridPower(3400, 3000, 1);
    expect(alarms.active.map((a) => a.kind)).toEqual(['over-contract']);
    expect(alarms.active[0]?.detail).toContain('3400 W');
    alarms.gridPower(3050, 3000, 2);
    expect(alarms.active).toHaveLength(1);
    expect(alarms.active[0]?.detail).toContain('3050 W');
    alarms.gridPower(2990, 3000, 3);
    expect(alarms.active).toEqual([]);
  });
});
