import { describe, expect, it } from 'vitest';
import { SLOT_MS } from '../tariff/slot';
import { allowing, DEFAULT_ENERGY_CONFIG, type EnergyConfig } from './config';
import { type CommandProblem, EnergyManager, type LiveMeter, type SiteMeter, type SwitchAnswer } from './manager';
import type { PlanInputs } from './planner';
import { programmeRequest } from './programmes';

const T0 = Date.UTC(2026, 5, 10, 8, 0);

const meter = (uid: string, node: number, name: string, priority: number, interruptible = true): SiteMeter => ({ uid, node, name, kind: 'load', priority, gridPoint: false, interruptible });

/**
 * A site the manager switches: each meter draws its appliance's power while its relay is closed.
 * Relays obey a command after `latencyMs`; `answer` decides the meter's ACK.
 */
class FakeSite {
  readonly relays = new Map<number, boolean>();
  readonly draw = new Map<number, number>();
  readonly commands: { node: number; on: boolean; at: number }[] = [];
  inFlight = new Map<number, number>();
  maxInFlight = 0;
  answer: (node: number, on: boolean) => SwitchAnswer | Error = () => ({ resultName: 'ok' });
  now = T0;
  readonly #pending: { due: number; run: () => void }[] = [];

  constructor(
    readonly meters: readonly SiteMeter[],
    readonly latencyMs = 300,
  ) {
    for (const m of meters) {
      this.relays.set(m.node, true);
      this.draw.set(m.node, 0);
    }
  }

  switchRelay = (node: number, on: boolean): Promise<SwitchAnswer> => {
    this.commands.push({ node, on, at: this.now });
    const n = (this.inFlight.get(node) ?? 0) + 1;
    this.inFlight.set(node, n);
    this.maxInFlight = Math.max(this.maxInFlight, n);
    return new Promise((resolve, reject) => {
      this.#pending.push({
        due: this.now + this.latencyMs,
        run: () => {
          this.inFlight.set(node, (this.inFlight.get(node) ?? 1) - 1);
          const a = this.answer(node, on);
          if (a instanceof Error) return reject(a);
          if (a.resultName === 'ok') this.relays.set(node, on);
          resolve(a);
        },
      });
    });
  };

  live(): LiveMeter[] {
    return this.meters.map((m) => ({ uid: m.uid, node: m.node, relayOn: this.relays.get(m.node) ?? false, watts: this.relays.get(m.node) ? (this.draw.get(m.node) ?? 0) : 0, silent: false }));
  }

  get gridW(): number {
    return this.live().reduce((s, l) => s + l.watts, 0);
  }

  /** Seconds of poll cycles: due commands land, then the manager steps. Returns the runs that ended. */
  async run(manager: EnergyManager, seconds: number, each?: (t: number) => void): Promise<string[]> {
    const ended: string[] = [];
    for (let s = 0; s < seconds; s++) {
      await new Promise((r) => setImmediate(r)); // commands queued since the last step go out
      this.now += 1000;
      const due = this.#pending.filter((x) => x.due <= this.now);
      this.#pending.splice(0, this.#pending.length, ...this.#pending.filter((x) => x.due > this.now));
      for (const p of due) p.run();
      // Let the answers and the commands queued behind them go through.
      await new Promise((r) => setImmediate(r));
      each?.(this.now);
      ended.push(...manager.step(this.now, this.live(), this.gridW).ended.map((e) => `${e.id}:${e.how}`));
    }
    return ended;
  }
}

const base = meter('base', 1, 'House', 1, false);
const kettle = meter('kettle', 7, 'Kettle', 20);
const oven = meter('oven', 5, 'Oven', 70);

/** The user allowed every load of the site to be switched. */
function managerFor(site: FakeSite, config: EnergyConfig = DEFAULT_ENERGY_CONFIG, problems: CommandProblem[] = []) {
  const m = new EnergyManager({ config: allowing(config, site.meters.map((x) => x.uid)), contractW: 3000, switchRelay: site.switchRelay, now: () => site.now, onProblem: (p) => problems.push(p) });
  m.setMeters(site.meters);
  return m;
}

describe('the energy manager on a site', () => {
  it('switches nothing the user has not allowed, however far over the limit', async () => {
    const site = new FakeSite([base, kettle, oven]);
    site.draw.set(1, 400);
    site.draw.set(5, 2400);
    site.draw.set(7, 2000);
    const manager = new EnergyManager({ config: allowing(DEFAULT_ENERGY_CONFIG, ['kettle']), contractW: 3000, switchRelay: site.switchRelay, now: () => site.now });
    manager.setMeters(site.meters);
    await site.run(manager, 60);
    // only the kettle may go: it does, the oven stays although it is the lowest priority
    expect(site.commands.map((c) => [c.node, c.on])).toEqual([[7, false]]);
    const alone = new EnergyManager({ config: DEFAULT_ENERGY_CONFIG, contractW: 3000, switchRelay: site.switchRelay, now: () => site.now });
    alone.setMeters(site.meters);
    site.relays.set(7, true);
    await site.run(alone, 60);
    expect(site.commands).toHaveLength(1);
    expect(alone.guard.log.some((e) => e.kind === 'cannot-shed')).toBe(true);
  });

  it('sheds the lowest-priority load by a relay command when the kettle and the oven overload the site, and restores it when there is room', async () => {
    const site = new FakeSite([base, kettle, oven]);
    site.draw.set(1, 400);
    site.draw.set(5, 2400);
    const manager = managerFor(site);
    await site.run(manager, 5);
    expect(site.commands).toEqual([]);
    site.draw.set(7, 2000); // the kettle: 4800 W against 3300 W allowed
    await site.run(manager, 12);
    expect(site.commands).toHaveLength(1);
    expect(site.commands[0]).toMatchObject({ node: 5, on: false });
    expect(site.relays.get(5)).toBe(false);
    expect(manager.status().shed.map((s) => s.loadId)).toEqual(['oven']);
    const shed = manager.guard.log.find((e) => e.kind === 'action');
    expect(shed).toMatchObject({ loadId: 'oven', reason: 'shed', facts: { thresholdW: 3300, loadW: 2400 } });
    // The kettle boils and stops; after the calm the oven is back, once.
    site.draw.set(7, 0);
    await site.run(manager, 90);
    expect(site.commands.map((c) => [c.node, c.on])).toEqual([
      [5, false],
      [5, true],
    ]);
    expect(site.relays.get(5)).toBe(true);
    expect(manager.status().shed).toEqual([]);
  });

  it('never sends a meter two commands at once: a switch by hand waits for the guard\'s', async () => {
    const site = new FakeSite([base, kettle, oven], 2500);
    site.draw.set(1, 400);
    site.draw.set(5, 2400);
    site.draw.set(7, 2000);
    const manager = managerFor(site);
    // the guard sheds the oven; its ACK takes 2.5 s
    for (let s = 0; s < 7 && site.commands.length === 0; s++) {
      manager.step((site.now += 1000), site.live(), site.gridW);
      await new Promise((r) => setImmediate(r));
    }
    expect(site.commands).toHaveLength(1);
    // meanwhile the user switches the oven on from its tile
    const byHand = manager.switchByHand(5, 'oven', true, site.now + 3_600_000);
    await new Promise((r) => setImmediate(r));
    expect(site.commands).toHaveLength(1); // queued behind the first
    await site.run(manager, 8);
    await expect(byHand).resolves.toEqual({ resultName: 'ok' });
    const toOven = site.commands.filter((c) => c.node === 5);
    expect(toOven.map((c) => c.on)).toEqual([false, true]);
    // the second went out only once the first was answered
    expect((toOven[1]?.at ?? 0) - (toOven[0]?.at ?? 0)).toBeGreaterThanOrEqual(2500);
    expect(site.maxInFlight).toBe(1);
  });

  it('holds a switch by hand for the time the user chose, then the guard acts again', async () => {
    const site = new FakeSite([base, kettle, oven]);
    site.draw.set(1, 400);
    site.draw.set(5, 2400);
    site.draw.set(7, 2000);
    const manager = managerFor(site);
    await site.run(manager, 12);
    expect(site.relays.get(5)).toBe(false);
    // The user wants the oven now, for two minutes, whatever the guard thinks.
    const until = site.now + 120_000;
    const answer = manager.switchByHand(5, 'oven', true, until);
    await site.run(manager, 1);
    await expect(answer).resolves.toEqual({ resultName: 'ok' });
    expect(manager.status().overrides).toEqual([{ loadId: 'oven', on: true, until, reason: 'user' }]);
    // Over the limit, the guard sheds what it may: the kettle, not the forced oven.
    await site.run(manager, 30);
    expect(site.relays.get(5)).toBe(true);
    expect(site.relays.get(7)).toBe(false);
    await site.run(manager, 100);
    expect(site.relays.get(5)).toBe(true);
    expect(manager.status().overrides).toEqual([]);
    expect(manager.guard.log.some((e) => e.kind === 'override-ended' && e.loadId === 'oven')).toBe(true);
    // Once the override is over the oven is fair game again: the user puts the kettle back on,
    // and the oven, of lower priority, goes.
    site.relays.set(7, true);
    await site.run(manager, 20);
    expect(site.relays.get(5)).toBe(false);
    expect(site.relays.get(7)).toBe(true);
    expect(site.commands.filter((c) => c.node === 5).map((c) => c.on)).toEqual([false, true, false]);
  });

  it('reports a refused command and an unanswered one, and sheds the next load instead', async () => {
    const site = new FakeSite([base, kettle, oven]);
    site.draw.set(1, 400);
    site.draw.set(5, 2400);
    site.draw.set(7, 2000);
    site.answer = (node) => (node === 5 ? { resultName: 'busy' } : node === 7 ? new Error('meter 7 did not acknowledge the command') : { resultName: 'ok' });
    const problems: CommandProblem[] = [];
    const manager = managerFor(site, DEFAULT_ENERGY_CONFIG, problems);
    await site.run(manager, 30);
    expect(problems.map((p) => [p.node, p.on, p.by, p.answer])).toEqual([
      [5, false, 'guard', 'busy'],
      [7, false, 'guard', 'meter 7 did not acknowledge the command'],
    ]);
    const refused = manager.guard.log.filter((e) => e.kind === 'refused');
    expect(refused.map((e) => e.loadId)).toEqual(['oven', 'kettle']);
    // The oven was tried first, then the guard moved on to the kettle without waiting 15 s.
    const [first, second] = site.commands;
    expect(first?.node).toBe(5);
    expect(second?.node).toBe(7);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeLessThanOrEqual(11_000);
  });

  it('brings stored overrides back after a reload, and forgets expired ones', async () => {
    const site = new FakeSite([base, kettle, oven]);
    const config: EnergyConfig = { ...DEFAULT_ENERGY_CONFIG, overrides: [{ uid: 'oven', on: false, until: T0 + 600_000 }, { uid: 'kettle', on: false, until: T0 - 1 }] };
    const manager = managerFor(site, config);
    expect(manager.overrides()).toEqual([{ uid: 'oven', on: false, until: T0 + 600_000 }]);
    await site.run(manager, 3);
    expect(site.relays.get(5)).toBe(false);
    expect(site.relays.get(7)).toBe(true);
  });

  it('executes a plan: the relay is off while the run waits, closes at its slot, and the run ends when done', async () => {
    const site = new FakeSite([base, kettle, oven]);
    site.draw.set(1, 300);
    site.draw.set(5, 2); // the oven on standby, set up to run
    site.now = T0 + 7 * 60_000; // 08:07
    const request = programmeRequest({ uid: 'oven', programme: 'custom', watts: 2000, minutes: 15, earliestStart: site.now, latestEnd: T0 + 2 * 3_600_000, strategy: 'cost', meterInterruptible: false }, site.now, 'p1');
    const manager = managerFor(site, { ...DEFAULT_ENERGY_CONFIG, programmes: [request] });
    // 08:00–10:00 with energy cheap from 09:00 to 09:15
    const price = Array.from({ length: 8 }, (_, t) => (t === 4 ? 0.1 : 0.3));
    const inputs: PlanInputs = { start: T0, price, solarW: price.map(() => 0), baseW: price.map(() => 300), importLimitW: 3000 };
    manager.setInputs(inputs);
    await site.run(manager, 3);
    expect(manager.plan?.loads[0]?.runs[0]?.start).toBe(T0 + 4 * SLOT_MS);
    expect(site.relays.get(5)).toBe(false); // waits, with the relay open
    expect(manager.guard.log.find((e) => e.kind === 'action')).toMatchObject({ reason: 'stop', facts: { plan: { kind: 'wait', from: T0 + 4 * SLOT_MS } } });
    site.draw.set(5, 2000); // the user presses start: nothing happens without power
    let closedAt: number | undefined;
    const ended: string[] = [];
    for (let minute = 0; minute < 80; minute++) {
      ended.push(
        ...(await site.run(manager, 60, (t) => {
          if (closedAt === undefined && site.relays.get(5)) closedAt = t;
        })),
      );
      if (site.now >= T0 + 4 * SLOT_MS + 20 * 60_000) site.draw.set(5, 1); // the programme has finished
    }
    expect(closedAt).toBeGreaterThanOrEqual(T0 + 4 * SLOT_MS);
    expect(closedAt).toBeLessThan(T0 + 4 * SLOT_MS + 5_000);
    expect(manager.guard.log.find((e) => e.kind === 'action' && e.reason === 'start')).toMatchObject({ loadId: 'oven', facts: { plan: { kind: 'run' } } });
    expect(ended).toEqual(['p1:done']);
  });
});
