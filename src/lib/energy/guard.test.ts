import { describe, expect, it } from 'vitest';
import { ContractGuard, type GuardSettings } from './guard';
import { type SimLoad, simulateSite } from './testing/site-sim';
import { advanceStress, italianConnection, timeToTripS, TripIntegrator, tripTimeS } from './trip-curve';

const connection = italianConnection(3000);
const settings: GuardSettings = { connection };

describe('trip curve', () => {
  it('follows the Italian step curve for a constant power', () => {
    expect(tripTimeS(connection, 3300)).toBe(Infinity);
    expect(tripTimeS(connection, 3500)).toBe(3 * 3600);
    expect(tripTimeS(connection, 3990)).toBe(3 * 3600);
    expect(tripTimeS(connection, 4000)).toBe(120);
  });

  it('remembers an overload and forgets it at the recovery rate', () => {
    let stress = advanceStress(connection, [0, 0], 4500, 60);
    expect(stress[1]).toBeCloseTo(0.5);
    expect(timeToTripS(connection, stress, 4500)).toBeCloseTo(60);
    stress = advanceStress(connection, stress, 2000, 30);
    expect(stress[1]).toBeCloseTo(0.25);
    expect(timeToTripS(connection, stress, 4500)).toBeCloseTo(90);
  });

  it('trips and stays tripped', () => {
    const meter = new TripIntegrator(connection);
    for (let t = 0; t < 119; t++) meter.advance(4200, 1);
    expect(meter.tripped).toBe(false);
    meter.advance(4200, 1);
    expect(meter.tripped).toBe(true);
    meter.advance(0, 3600);
    expect(meter.tripped).toBe(true);
  });

  it('rejects curves it cannot use', () => {
    expect(() => italianConnection(0)).toThrow(/positive/);
    expect(() => new TripIntegrator({ contractW: 3000, bands: [] })).toThrow(/at least one band/);
    expect(() => new ContractGuard({ connection, shedAboveW: 3000, restoreBelowW: 3100 }, [])).toThrow(/below the shed threshold/);
  });
});

const heater: SimLoad = { id: 'heater', name: 'Water heater', priority: 1, interruptible: true, onW: 1000, initiallyOn: true };
const oven: SimLoad = { id: 'oven', name: 'Oven', priority: 5, interruptible: true, onW: 2000 };
const kettle: SimLoad = { id: 'kettle', name: 'Kettle', priority: 9, interruptible: true, onW: 2000, managed: false };

describe('contracted-power guard', () => {
  it('kettle and oven over the limit: sheds the lowest priority first, restores the highest first when there is room', () => {
    const run = simulateSite({ settings, loads: [heater, oven, kettle], baseW: 300 }, [
      { atS: 10, kind: 'user-switch', loadId: 'oven', on: true },
      { atS: 30, kind: 'user-switch', loadId: 'kettle', on: true },
      { atS: 150, kind: 'user-switch', loadId: 'kettle', on: false },
    ], 600);
    expect(run.tripped).toBe(false);
    const sheds = run.actions.filter((a) => !a.on);
    expect(sheds.map((a) => a.loadId)).toEqual(['heater', 'oven']);
    expect(sheds[0]?.reason).toBe('shed');
    // the first step waits for the 5 s confirmation, the second for the 10 s step
    expect((sheds[0]?.at ?? 0) - Date.UTC(2026, 0, 12, 8)).toBe(35_000);
    expect((sheds[1]?.at ?? 0) - (sheds[0]?.at ?? 0)).toBeGreaterThanOrEqual(10_000);
    const restores = run.actions.filter((a) => a.on);
    // the oven (higher priority) comes back after 60 s of calm; the heater does not fit next to it
    expect(restores.map((a) => a.loadId)).toEqual(['oven']);
    expect(restores[0]?.reason).toBe('restore');
    // calm since the second shed, so it returns as soon as the kettle is off and it fits
    expect((restores[0]?.at ?? 0) - Date.UTC(2026, 0, 12, 8)).toBe(150_000);
    expect(run.guard.status().shed.map((s) => s.loadId)).toEqual(['heater']);
    expect(run.gridW.at(-1)).toBe(2300);
    // the same afternoon without the guard trips the meter two minutes after the kettle
    const unguarded = simulateSite({ settings: { connection, shedAboveW: 1e9, restoreBelowW: 1e8 }, loads: [heater, oven, kettle], baseW: 300 }, [
      { atS: 10, kind: 'user-switch', loadId: 'oven', on: true },
      { atS: 30, kind: 'user-switch', loadId: 'kettle', on: true },
    ], 600);
    expect(unguarded.trippedAtS).toBe(149);
  });

  it('restores the shed load once the oven is off', () => {
    const run = simulateSite({ settings, loads: [heater, oven, kettle], baseW: 300 }, [
      { atS: 10, kind: 'user-switch', loadId: 'oven', on: true },
      { atS: 30, kind: 'user-switch', loadId: 'kettle', on: true },
      { atS: 150, kind: 'user-switch', loadId: 'kettle', on: false },
      { atS: 400, kind: 'user-switch', loadId: 'oven', on: false },
    ], 700);
    const heaterOn = run.actions.filter((a) => a.loadId === 'heater' && a.on);
    expect(heaterOn).toHaveLength(1);
    expect(heaterOn[0]?.reason).toBe('restore');
    expect(run.gridW.at(-1)).toBe(1300);
  });

  it('sheds several loads at once when one at a time would be too slow for the trip curve', () => {
    const loads: SimLoad[] = Array.from({ length: 8 }, (_, i) => ({ id: `l${i}`, priority: i, interruptible: true, onW: 400, initiallyOn: true }));
    const run = simulateSite({ settings: { connection, stepS: 20 }, loads: [...loads, kettle], baseW: 100 }, [{ atS: 5, kind: 'user-switch', loadId: 'kettle', on: true }], 300);
    // 100 + 3200 + 2000 = 5300 W: 2000 W to shed, 5 loads × 20 s + 20 s margin ≥ 120 s to trip
    expect(run.tripped).toBe(false);
    const first = run.actions.filter((a) => a.at === run.actions[0]?.at);
    expect(first.every((a) => a.reason === 'emergency-shed')).toBe(true);
    expect(first.map((a) => a.loadId)).toEqual(['l0', 'l1', 'l2', 'l3', 'l4']);
    expect(first[0]?.detail).toMatch(/trip the meter in/);
  });

  it('never cuts a non-interruptible programme mid-cycle, whether told or derived from its power', () => {
    for (const reportCycles of [true, false]) {
      const washer: SimLoad = { id: 'washer', name: 'Washing machine', priority: 0, interruptible: false, onW: 2000, cycleS: 900, initiallyOn: true };
      const run = simulateSite({ settings, loads: [washer, heater, kettle], baseW: 200, reportCycles }, [
        { atS: 1, kind: 'start-programme', loadId: 'washer' },
        { atS: 20, kind: 'user-switch', loadId: 'kettle', on: true },
        { atS: 200, kind: 'user-switch', loadId: 'kettle', on: false },
      ], 400);
      expect(run.changes.filter((c) => c.by === 'guard' && c.midCycle)).toEqual([]);
      expect(run.actions.filter((a) => !a.on).map((a) => a.loadId)).toEqual(['heater']);
      // 200 + 2000 + 2000 W stays above the free power with nothing left to shed: said so, once
      const cannot = run.guard.log.filter((e) => e.kind === 'cannot-shed');
      expect(cannot).toHaveLength(1);
      expect(cannot[0]?.detail).toMatch(/Washing machine is mid-cycle/);
      expect(cannot[0]?.detail).toMatch(/Kettle is not managed/);
    }
  });

  it('sheds an idle non-interruptible load between programmes only if it draws enough to matter', () => {
    const washer: SimLoad = { id: 'washer', priority: 0, interruptible: false, onW: 2000, cycleS: 60, initiallyOn: true };
    const run = simulateSite({ settings, loads: [washer, heater, kettle], baseW: 500, reportCycles: true }, [{ atS: 100, kind: 'user-switch', loadId: 'kettle', on: true }], 200);
    // idle at 2 W: shedding it would not help, the heater goes
    expect(run.actions.filter((a) => !a.on).map((a) => a.loadId)).toEqual(['heater']);
  });

  it('keeps minimum on and off times even under overload, and says why', () => {
    const compressor: SimLoad = { id: 'hp', name: 'Heat pump', priority: 0, interruptible: true, onW: 1500, minOnS: 300, minOffS: 120 };
    const run = simulateSite({ settings, loads: [compressor, heater, kettle], baseW: 200 }, [
      { atS: 5, kind: 'user-switch', loadId: 'hp', on: true },
      { atS: 10, kind: 'user-switch', loadId: 'kettle', on: true },
      { atS: 100, kind: 'user-switch', loadId: 'kettle', on: false },
    ], 700);
    // 200 + 1500 + 1000 + 2000: the heat pump is the lowest priority but within its 300 s, so the heater goes
    const sheds = run.actions.filter((a) => !a.on);
    expect(sheds[0]?.loadId).toBe('heater');
    for (const c of run.changes.filter((x) => x.by === 'guard')) {
      const before = run.changes.filter((x) => x.loadId === c.loadId && x.atS < c.atS).at(-1);
      if (!before) continue;
      const min = c.on ? (c.loadId === 'hp' ? 120 : 0) : c.loadId === 'hp' ? 300 : 0;
      expect(c.atS - before.atS).toBeGreaterThanOrEqual(min);
    }
  });

  it('backs off a load that keeps overloading the site after its restore', () => {
    const events = [];
    for (let t = 0; t < 3600; t += 200) {
      events.push({ atS: t, kind: 'base' as const, watts: 2500 }, { atS: t + 100, kind: 'base' as const, watts: 1500 });
    }
    const run = simulateSite({ settings, loads: [heater], baseW: 2500 }, events, 3600);
    const sheds = run.actions.filter((a) => !a.on).map((a) => a.at);
    // without back-off the heater would be shed in each of the 18 periods
    expect(sheds.length).toBeLessThanOrEqual(6);
    const gaps = sheds.slice(1).map((t, i) => t - (sheds[i] ?? 0));
    expect(gaps.at(-1) ?? 0).toBeGreaterThan(gaps[0] ?? 0);
    expect(run.tripped).toBe(false);
  });

  it('respects a user override for its stated time, then goes back to automatic', () => {
    const run = simulateSite({ settings, loads: [heater, oven, kettle], baseW: 500 }, [
      { atS: 0, kind: 'override', loadId: 'heater', on: true, forS: 300 },
      { atS: 10, kind: 'user-switch', loadId: 'oven', on: true },
      { atS: 20, kind: 'user-switch', loadId: 'kettle', on: true },
    ], 600);
    // the heater is the lowest priority but forced on: the oven goes instead, the heater after 300 s
    const sheds = run.actions.filter((a) => !a.on);
    expect(sheds[0]?.loadId).toBe('oven');
    const heaterOff = sheds.find((a) => a.loadId === 'heater');
    expect(heaterOff).toBeDefined();
    expect((heaterOff?.at ?? 0) - Date.UTC(2026, 0, 12, 8)).toBeGreaterThanOrEqual(300_000);
    expect(run.guard.log.some((e) => e.kind === 'override-ended' && e.loadId === 'heater')).toBe(true);
  });

  it('switches a load forced off, and brings it back when the override ends', () => {
    const run = simulateSite({ settings, loads: [heater], baseW: 300 }, [{ atS: 5, kind: 'override', loadId: 'heater', on: false, forS: 200 }], 400);
    expect(run.actions.map((a) => [a.loadId, a.on, a.reason])).toEqual([
      ['heater', false, 'override'],
      ['heater', true, 'restore'],
    ]);
    expect((run.actions[1]?.at ?? 0) - Date.UTC(2026, 0, 12, 8)).toBeGreaterThanOrEqual(205_000);
  });

  it('moves on to the next load when a meter does not switch', () => {
    const run = simulateSite({ settings, loads: [heater, oven, kettle], baseW: 300, deafLoads: ['heater'] }, [
      { atS: 1, kind: 'user-switch', loadId: 'oven', on: true },
      { atS: 10, kind: 'user-switch', loadId: 'kettle', on: true },
    ], 200);
    expect(run.guard.log.some((e) => e.kind === 'no-ack' && e.loadId === 'heater')).toBe(true);
    expect(run.actions.filter((a) => !a.on).map((a) => a.loadId)).toContain('oven');
    expect(run.tripped).toBe(false);
  });

  it('starts a load a plan wants only when it fits', () => {
    const t0 = Date.UTC(2026, 0, 12, 8);
    const guard = new ContractGuard(settings, [{ id: 'ev', priority: 2, interruptible: true, ratedW: 2000 }]);
    guard.want('ev', true, 'planned 08:00–10:00', 2000);
    expect(guard.step({ at: t0, gridW: 1500, loads: [{ id: 'ev', powerW: 0, relayOn: false }] })).toEqual([]);
    const actions = guard.step({ at: t0 + 1000, gridW: 900, loads: [{ id: 'ev', powerW: 0, relayOn: false }] });
    expect(actions.map((a) => [a.loadId, a.on, a.reason])).toEqual([['ev', true, 'start']]);
    expect(actions[0]?.detail).toMatch(/planned 08:00–10:00/);
    guard.want('ev', false, 'plan over');
    const stop = guard.step({ at: t0 + 2000, gridW: 2900, loads: [{ id: 'ev', powerW: 2000, relayOn: true }] });
    expect(stop.map((a) => [a.loadId, a.on, a.reason])).toEqual([['ev', false, 'stop']]);
  });

  it('follows a limit that changes with the hour', () => {
    const t0 = Date.UTC(2026, 0, 12, 22, 0);
    const guard = new ContractGuard(settings, [{ id: 'ev', priority: 1, interruptible: true }]);
    const sample = (s: number, ev: boolean) => ({ at: t0 + s * 1000, gridW: 300 + (ev ? 4000 : 0), loads: [{ id: 'ev', powerW: ev ? 4000 : 0, relayOn: ev }] });
    guard.step(sample(0, true));
    // 23:00, F3: 6 kW for the EV trial; 4.3 kW is now inside the free power
    guard.setConnection(italianConnection(6000), t0 + 1000);
    const actions = [];
    for (let s = 1; s < 60; s++) actions.push(...guard.step(sample(s, true)));
    expect(actions).toEqual([]);
    guard.setConnection(connection, t0 + 60_000);
    for (let s = 60; s < 80; s++) actions.push(...guard.step(sample(s, true)));
    expect(actions.map((a) => [a.loadId, a.on])).toEqual([['ev', false]]);
    expect(guard.log.some((e) => e.kind === 'limit' && /6000 W contracted, 6600 W free/.test(e.detail))).toBe(true);
  });

  it('logs every action with its reason and ignores a clock that goes back', () => {
    const run = simulateSite({ settings, loads: [heater, oven, kettle], baseW: 300 }, [
      { atS: 10, kind: 'user-switch', loadId: 'oven', on: true },
      { atS: 30, kind: 'user-switch', loadId: 'kettle', on: true },
    ], 120);
    const logged = run.guard.log.filter((e) => e.kind === 'action');
    expect(logged).toHaveLength(run.actions.length);
    for (const e of logged) expect(e.kind === 'action' && e.detail.length > 20).toBe(true);
    expect(run.guard.status().zone).toBe('normal');
    expect(run.guard.step({ at: 0, gridW: 0, loads: [] })).toEqual([]);
    expect(run.guard.log.at(-1)?.kind).toBe('clock');
  });
});
