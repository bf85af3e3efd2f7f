import { describe, expect, it } from 'vitest';
import { Aggregator } from '../aggregator/aggregator';
import { manualTimers } from '../aggregator/testing';
import { simRig } from '../sim/testing/sim-rig';
import { resistive } from '../sim/waveforms';
import { allowing, DEFAULT_ENERGY_CONFIG } from './config';
import { type CommandProblem, EnergyManager, type LiveMeter, type SiteMeter } from './manager';

// The manager on the simulated bus: the aggregator's real polling, MACs and RELAY commands, and
// meters running the firmware core, whose relays decide what their loads draw.
describe('the energy manager on the simulated bus', () => {
  it('sheds the oven when the kettle pushes the site over its contract, and restores it once the kettle is done', async () => {
    const rig = await simRig([
      { nodeId: 1, name: 'House', load: resistive(400) },
      { nodeId: 5, name: 'Oven', load: resistive(2400) },
      { nodeId: 7, name: 'Kettle', load: resistive(0) },
    ]);
    const timers = manualTimers();
    const aggregator = new Aggregator(rig.transport, { ...rig.site, now: rig.nowMs, timers });
    const live = new Map<number, LiveMeter>();
    aggregator.subscribe({ snapshot: (r) => live.set(r.node, { node: r.node, uid: aggregator.uidOf(r.node), watts: r.record.watts, relayOn: r.record.relayOn, silent: false }) });
    await rig.run(300);
    aggregator.start();
    await rig.run(150);
    for (let i = 0; i < 4; i++) {
      timers.tick();
      await rig.run(150);
    }
    const uid = (node: number) => aggregator.uidOf(node) ?? '';
    const meters: SiteMeter[] = [
      { uid: uid(1), node: 1, name: 'House', kind: 'load', priority: 1, gridPoint: false, interruptible: false },
      { uid: uid(5), node: 5, name: 'Oven', kind: 'load', priority: 70, gridPoint: false, interruptible: true },
      { uid: uid(7), node: 7, name: 'Kettle', kind: 'load', priority: 20, gridPoint: false, interruptible: true },
    ];
    expect(meters.every((m) => m.uid.length === 24)).toBe(true);
    const problems: CommandProblem[] = [];
    const manager = new EnergyManager({
      config: allowing({ ...DEFAULT_ENERGY_CONFIG, guard: { ...DEFAULT_ENERGY_CONFIG.guard, restoreAfterS: 20 } }, [uid(5), uid(7)]),
      contractW: 3000,
      switchRelay: (node, on) => aggregator.setRelay(node, on),
      now: rig.nowMs,
      onProblem: (p) => problems.push(p),
    });
    manager.setMeters(meters);
    const oven = rig.meters.find((m) => m.nodeId === 5);
    const kettle = rig.meters.find((m) => m.nodeId === 7);
    if (!oven || !kettle) throw new Error('no oven or kettle on the bus');
    const second = async () => {
      timers.tick();
      await rig.run(1000, 5);
      const readings = [...live.values()];
      manager.step(rig.nowMs(), readings, readings.reduce((s, l) => s + l.watts, 0));
    };

    for (let s = 0; s < 3; s++) await second();
    expect(oven.core.relayOn).toBe(true);
    kettle.setLoad(resistive(2000)); // 4800 W against the 3300 W the meter allows for ever
    let openedAfterS: number | undefined;
    for (let s = 1; s <= 20 && openedAfterS === undefined; s++) {
      await second();
      if (!oven.core.relayOn) openedAfterS = s;
    }
    // The meter's own relay opened: after the 5 s that tell an overload from an inrush, well before the two minutes to trip.
    expect(openedAfterS).toBeGreaterThanOrEqual(5);
    expect(openedAfterS).toBeLessThanOrEqual(8);
    expect(kettle.core.relayOn).toBe(true);
    await second();
    expect(live.get(5)?.relayOn).toBe(false);
    expect(live.get(5)?.watts ?? Infinity).toBeLessThan(5);
    expect(manager.status().shed.map((x) => x.loadId)).toEqual([uid(5)]);

    // No room for the oven while the kettle boils: it stays off.
    for (let s = 0; s < 30; s++) await second();
    expect(oven.core.relayOn).toBe(false);
    // The kettle is done; the overload ended 30 s ago, more than the 20 s of calm asked: the oven is back at once.
    kettle.setLoad(resistive(0));
    let closedAfterS: number | undefined;
    for (let s = 1; s <= 10 && closedAfterS === undefined; s++) {
      await second();
      if (oven.core.relayOn) closedAfterS = s;
    }
    expect(closedAfterS).toBeGreaterThanOrEqual(1);
    expect(closedAfterS).toBeLessThanOrEqual(3);
    for (let s = 0; s < 3; s++) await second();
    expect((live.get(5)?.watts ?? 0) / 2400).toBeCloseTo(1, 1);
    expect(manager.status().shed).toEqual([]);
    const actions = manager.guard.log.filter((e) => e.kind === 'action').map((e) => (e.kind === 'action' ? [e.loadId, e.on, e.reason] : []));
    expect(actions).toEqual([
      [uid(5), false, 'shed'],
      [uid(5), true, 'restore'],
    ]);
    expect(problems).toEqual([]);
    await aggregator.stop();
  }, 60_000);
});
