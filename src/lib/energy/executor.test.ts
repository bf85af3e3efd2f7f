import { describe, expect, it } from 'vitest';
import { SLOT_MS } from '../tariff/slot';
import { type LoadReading, PlanRunner, planIntents } from './executor';
import { type DeferrableLoad, plan, type PlanInputs } from './planner';

const T0 = Date.UTC(2026, 5, 10, 0, 0);
const at = (slot: number) => T0 + slot * SLOT_MS;
const n = 16;
const cheapLate = Array.from({ length: n }, (_, t) => (t >= 8 ? 0.1 : 0.3));

const washer: DeferrableLoad = { id: 'washer', name: 'Washer', profile: [{ minutes: 45, watts: 1500 }], earliestStart: T0, latestEnd: at(n), interruptible: false, strategy: 'cost' };
const ev: DeferrableLoad = { id: 'ev', name: 'EV', profile: [{ minutes: 30, watts: 2000 }], earliestStart: T0, latestEnd: at(n), interruptible: true, strategy: 'cost' };

/** Inputs for the slots from `now` to the end of the day's 16 slots, from a whole-day price list. */
function inputsAt(now: number, price: readonly number[]): PlanInputs {
  const first = Math.floor((now - T0) / SLOT_MS);
  const p = price.slice(first);
  return { start: at(first), price: p, solarW: p.map(() => 0), baseW: p.map(() => 300), importLimitW: 6000 };
}

describe('plan execution', () => {
  it('waits, switches an uninterruptible programme on at its start and leaves it on', () => {
    const p = plan({ inputs: inputsAt(T0, cheapLate), loads: [washer], now: T0 });
    expect(p.loads[0]?.slots).toEqual([13, 14, 15]);
    expect(planIntents(p, [washer], at(2))).toEqual([{ loadId: 'washer', on: false, reason: 'Washer waits for 03:15', expectedW: 1500, why: { kind: 'wait', from: at(13), to: at(16) } }]);
    expect(planIntents(p, [washer], at(13) + 60_000)[0]).toMatchObject({ on: true, reason: 'Washer planned 03:15–04:00' });
    // past its planned end the plan does not cut it: the appliance ends its programme
    expect(planIntents(p, [washer], at(17))[0]?.on).toBe(true);
  });

  it('switches an interruptible load on only inside its planned runs', () => {
    const price = Array.from({ length: n }, (_, t) => (t === 3 || t === 9 ? 0.05 : 0.3));
    const p = plan({ inputs: inputsAt(T0, price), loads: [ev], now: T0 });
    expect(p.loads[0]?.slots).toEqual([3, 9]);
    expect(planIntents(p, [ev], at(3) + 1)[0]?.on).toBe(true);
    expect(planIntents(p, [ev], at(4))[0]).toMatchObject({ on: false, reason: 'EV pauses until 02:15' });
    expect(planIntents(p, [ev], at(9))[0]?.on).toBe(true);
  });

  it('follows the programmes through a day, re-plans on new prices and new slots, never moves a started one', () => {
    const runner = new PlanRunner([washer, ev], { solver: { timeBudgetMs: Infinity } });
    const relays = new Map<string, boolean>([['washer', false], ['ev', false]]);
    const readings = () => new Map<string, LoadReading>([...relays].map(([id, on]) => [id, { relayOn: on, powerW: on ? (id === 'washer' ? 1500 : 2000) : 0 }]));
    let price: number[] = [...cheapLate];
    const reasons: string[] = [];
    let washerStart: number | undefined;
    let evOnMinutes = 0;
    let washerOffAfterStart = false;
    for (let minute = 0; minute < n * 15; minute++) {
      const now = T0 + minute * 60_000;
      if (minute === 30) price = price.map((v, t) => (t >= 6 && t <= 8 ? 0.01 : v)); // new prices arrive
      if (minute === 6 * 15 + 5) price = price.map((v, t) => (t >= 7 ? 0.9 : v)); // and change while the washer runs
      const u = runner.update(now, inputsAt(now, price), readings());
      if (u.replanned) reasons.push(u.because ?? '');
      for (const i of u.intents) {
        if (i.loadId === 'washer' && washerStart !== undefined && !i.on) washerOffAfterStart = true;
        relays.set(i.loadId, i.on);
      }
      if (relays.get('washer') && washerStart === undefined) washerStart = minute;
      if (relays.get('ev')) evOnMinutes++;
    }
    expect(reasons[0]).toBe('first plan');
    expect(reasons).toContain('the prices changed');
    expect(reasons).toContain('a new slot began');
    // a programme that starts becomes a fixed run of the plan, and leaves it when done
    expect(reasons).toContain('a programme started');
    expect(reasons).toContain('a programme ended');
    // the cheap slots that arrived at 00:30 took the washer, and the later price jump did not move or stop it
    expect(washerStart).toBe(6 * 15);
    expect(washerOffAfterStart).toBe(false);
    // the EV got its 30 minutes (give or take the one-minute sampling of this test), then was left off
    expect(evOnMinutes).toBeGreaterThanOrEqual(30);
    expect(evOnMinutes).toBeLessThanOrEqual(31);
    expect(relays.get('ev')).toBe(false);
    expect(runner.plan?.loads.find((l) => l.loadId === 'ev')).toBeUndefined();
  });
});
