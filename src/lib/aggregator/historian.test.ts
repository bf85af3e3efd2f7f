import { describe, expect, it } from 'vitest';
import { resistive } from '../sim/waveforms';
import { ledgerTotal, listMeters, readSeries, readSlotEnergy } from '../store/queries';
import { SlotQuality } from '../store/schema';
import { SLOT_MS } from '../tariff/slot';
import { HISTORY_T0, historyRig } from './testing-history';
import type { EnergyRecord } from '../meter/records';

/** What the meter's own registers say flowed between the first and the last reading of a session. */
function registerDifference(records: readonly EnergyRecord[]): { importMwh: number; exportMwh: number } {
  const first = records[0];
  const last = records.at(-1);
  if (!first || !last) throw new Error('no ENERGY records');
  return { importMwh: last.importMwh - first.importMwh, exportMwh: last.exportMwh - first.exportMwh };
}

describe('Historian on the simulated bus (fake-indexeddb)', () => {
  it('registers the meters, stores their snapshots and rollups, and counts energy from the registers', async () => {
    const h = await historyRig([
      { nodeId: 2, name: 'kettle', load: resistive(2000) },
      { nodeId: 9, name: 'lamp', load: resistive(60) },
    ]);
    const { historian } = await h.open({ meterHint: (node) => (node === 2 ? { name: 'Kettle' } : undefined) });
    await h.poll(120);
    await historian.flush();

    const meters = await listMeters(h.db);
    expect(meters.map((m) => [m.node, m.name, m.kind])).toEqual([
      [2, 'Kettle', 'load'],
      [9, 'Meter 9', 'load'],
    ]);
    const kettle = meters[0];
    if (!kettle) throw new Error('no kettle');
    expect(kettle.uid).toBe('575753494d00000000000002');

    const now = h.rig.nowMs();
    const power = await readSeries(h.db, { uid: kettle.uid, quantity: 'p', from: now - 60_000, to: now });
    expect(power.resolution).toBe('raw');
    expect(power.t.length).toBeGreaterThanOrEqual(58);
    for (const w of power.mean) expect(Math.abs(w - 2000) / 2000).toBeLessThan(0.01);
    const minutes = await readSeries(h.db, { uid: kettle.uid, quantity: 'vrms', from: HISTORY_T0, to: now, resolution: '1m' });
    expect(minutes.t.length).toBeGreaterThanOrEqual(2);
    for (let k = 0; k < minutes.t.length; k++) {
      expect(minutes.min[k]).toBeLessThanOrEqual(minutes.mean[k] as number);
      expect(minutes.mean[k]).toBeLessThanOrEqual(minutes.max[k] as number);
      expect(Math.abs((minutes.mean[k] as number) - 230)).toBeLessThan(2);
    }

    const session = h.session;
    if (!session) throw new Error('closed');
    for (const m of meters) {
      const expected = registerDifference(session.energy.get(m.node) ?? []);
      const stored = await ledgerTotal(h.db, m.uid);
      expect(stored).toEqual(expected);
      expect(expected.importMwh).toBeGreaterThan(0);
    }
    // About 2 kW for two minutes, counted by the meter: 2000 W × 110 s ≈ 61 Wh.
    const kettleWh = (await ledgerTotal(h.db, kettle.uid)).importMwh / 1000;
    expect(kettleWh).toBeGreaterThan(50);
    expect(kettleWh).toBeLessThan(70);
    await h.close();
  });

  it('after the app was closed, fills the gap from the meters’ aggregates and loses no energy', async () => {
    const h = await historyRig([{ nodeId: 4, name: 'heater', load: resistive(1500) }]);
    await h.open();
    await h.poll(30);
    const firstSession = h.session;
    await h.close();
    h.pass(75 * 60_000); // the tab stays closed for 75 minutes
    const { historian } = await h.open();
    await h.poll(30);
    await h.settle();
    const uid = historian.meters[0]?.uid;
    if (!uid || !firstSession) throw new Error('no meter');
    // Register differences of both sessions, and across the gap (last of one to first of the next).
    const before = firstSession.energy.get(4) ?? [];
    const after = h.session?.energy.get(4) ?? [];
    const expected = (after.at(-1)?.importMwh ?? 0) - (before[0]?.importMwh ?? 0);
    expect((await ledgerTotal(h.db, uid)).importMwh).toBe(expected);
    expect(expected).toBeGreaterThan(1500 * 75 / 60 * 1000 * 0.95);

    // The gap's slots were placed with the meter's 10-minute aggregates.
    const slots = await readSlotEnergy(h.db, [uid], HISTORY_T0, h.rig.nowMs());
    const days = await h.db.getAll('energy');
    const qualities = new Set(days.flatMap((d) => [...d.quality]));
    expect(qualities.has(SlotQuality.FROM_AGGREGATES)).toBe(true);
    // A full slot in the middle of the gap holds 15 minutes of 1.5 kW, within the aggregates' rounding.
    const middle = slots.find((s) => s.start === HISTORY_T0 + 3 * SLOT_MS);
    expect(middle?.importMwh).toBeGreaterThan(375_000 * 0.98);
    expect(middle?.importMwh).toBeLessThan(375_000 * 1.02);
    // And the power profile of the gap comes from them too.
    const profile = await readSeries(h.db, { uid, quantity: 'p', from: HISTORY_T0 + 20 * 60_000, to: HISTORY_T0 + 70 * 60_000, resolution: '15m' });
    expect(profile.t.length).toBeGreaterThanOrEqual(3);
    for (const w of profile.mean) expect(Math.abs(w - 1500) / 1500).toBeLessThan(0.02);
    expect(await h.db.count('gaps')).toBe(0);
    await h.close();
  }, 60_000);
});
