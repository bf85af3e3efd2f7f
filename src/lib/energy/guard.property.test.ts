import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SimEvent, type SimLoad, simulateSite } from './testing/site-sim';
import { freePowerW, italianConnection } from './trip-curve';

const EVENTS_UNTIL_S = 900;
const TAIL_S = 2400;

const loadArb = (i: number) =>
  fc.record({
    priority: fc.integer({ min: 0, max: 9 }),
    interruptible: fc.boolean(),
    onW: fc.integer({ min: 100, max: 3000 }),
    minOnS: fc.constantFrom(0, 10, 30, 60),
    minOffS: fc.constantFrom(0, 10, 30, 120),
    cycleS: fc.integer({ min: 60, max: 600 }),
    initiallyOn: fc.boolean(),
  }).map((r): SimLoad => ({
    id: `load${i}`,
    priority: r.priority,
    interruptible: r.interruptible,
    onW: r.onW,
    minOnS: r.minOnS,
    minOffS: r.minOffS,
    initiallyOn: r.initiallyOn,
    ...(r.interruptible ? {} : { cycleS: r.cycleS }),
  }));

const siteArb = fc
  .record({
    contractW: fc.constantFrom(3000, 4500, 6000),
    count: fc.integer({ min: 1, max: 6 }),
    kettleW: fc.integer({ min: 0, max: 3000 }),
    latencyS: fc.integer({ min: 0, max: 2 }),
    reportCycles: fc.boolean(),
    baseFraction: fc.double({ min: 0, max: 0.9, noNaN: true }),
  })
  .chain((site) =>
    fc.record({
      site: fc.constant(site),
      loads: fc.tuple(...Array.from({ length: site.count }, (_, i) => loadArb(i))),
      events: fc.array(
        fc.oneof(
          fc.record({ atS: fc.integer({ min: 0, max: EVENTS_UNTIL_S }), kind: fc.constant('base' as const), watts: fc.integer({ min: 0, max: Math.round(site.contractW * 0.9) }) }),
          fc.record({ atS: fc.integer({ min: 0, max: EVENTS_UNTIL_S }), kind: fc.constant('user-switch' as const), loadId: fc.constantFrom('kettle', ...Array.from({ length: site.count }, (_, i) => `load${i}`)), on: fc.boolean() }),
          fc.record({ atS: fc.integer({ min: 0, max: EVENTS_UNTIL_S }), kind: fc.constant('start-programme' as const), loadId: fc.constantFrom(...Array.from({ length: site.count }, (_, i) => `load${i}`)) }),
          fc.record({ atS: fc.integer({ min: 0, max: EVENTS_UNTIL_S }), kind: fc.constant('override' as const), loadId: fc.constantFrom(...Array.from({ length: site.count }, (_, i) => `load${i}`)), on: fc.boolean(), forS: fc.integer({ min: 30, max: 300 }) }),
        ),
        { maxLength: 16 },
      ),
    }),
  );

type SiteInput = typeof siteArb extends fc.Arbitrary<infer T> ? T : never;

function run(input: SiteInput) {
  const connection = italianConnection(input.site.contractW);
  const kettle: SimLoad = { id: 'kettle', priority: 9, interruptible: true, onW: input.site.kettleW, managed: false };
  const events: SimEvent[] = input.events;
  const trace = simulateSite(
    { settings: { connection }, loads: [...input.loads, kettle], baseW: Math.round(input.site.baseFraction * input.site.contractW), latencyS: input.site.latencyS, reportCycles: input.site.reportCycles },
    events,
    EVENTS_UNTIL_S + 300 + TAIL_S,
  );
  return { trace, free: freePowerW(connection), loads: input.loads };
}

// Hundreds of random runs each: minutes of CPU on a busy machine, so no 5-second limit.
describe('contracted-power guard, properties', { timeout: 120_000 }, () => {
  it('never trips the meter when the loads it may switch off would have been enough', () => {
    fc.assert(
      fc.property(siteArb, (input) => {
        const { trace, free } = run(input);
        fc.pre(Math.max(...trace.lockedW) <= free);
        expect(trace.tripped).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('never breaks a minimum on or off time, never cuts a programme mid-cycle on its own', () => {
    fc.assert(
      fc.property(siteArb, (input) => {
        const { trace, loads } = run(input);
        const broken: string[] = [];
        for (const c of trace.changes) {
          if (c.by !== 'guard') continue;
          const load = loads.find((l) => l.id === c.loadId);
          if (!load) continue;
          const before = trace.changes.filter((x) => x.loadId === c.loadId && x.atS < c.atS).at(-1);
          const held = before ? c.atS - before.atS : c.atS; // the guard's first sample is at 0
          const min = c.on ? (load.minOffS ?? 0) : (load.minOnS ?? 0);
          if (held < min) broken.push(`${c.loadId} ${c.on ? 'on' : 'off'} at ${c.atS} s after ${held} s < ${min} s`);
          if (!c.on && c.reason !== 'override' && !load.interruptible && c.midCycle) broken.push(`${c.loadId} cut mid-cycle at ${c.atS} s`);
        }
        expect(broken).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('settles once nothing changes: no load is shed again after being restored', () => {
    fc.assert(
      fc.property(siteArb, (input) => {
        const { trace } = run(input);
        const quietFromS = Math.max(EVENTS_UNTIL_S, ...input.events.map((e) => e.atS + (e.kind === 'override' ? e.forS : 0))) + 1;
        const tail = trace.changes.filter((c) => c.by === 'guard' && c.atS > quietFromS + 5 && c.reason !== 'override' && c.reason !== 'stop');
        const restored = new Set<string>();
        const oscillating: string[] = [];
        for (const c of tail) {
          if (c.on) restored.add(c.loadId);
          else if (restored.has(c.loadId)) oscillating.push(`${c.loadId} shed again at ${c.atS} s`);
        }
        expect(oscillating).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
