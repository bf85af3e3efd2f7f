import { describe, expect, it } from 'vitest';
import { type BillMeter, computeBill, type SlotEnergy, UNMETERED_ID } from './billing';
import { CostCache, monthChunks, rangeCosts, rangePeriod } from './costs';
import { billingPeriodOfMonth } from './period';
import { type PriceSlot, SLOT_MS } from './slot';
import { ITALIAN_INDEXED_EXAMPLE, type Tariff } from './tariff';
import { localDayRange, localMonthRange } from './zone';

const ROME = 'Europe/Rome';
const tariff: Tariff = { ...ITALIAN_INDEXED_EXAMPLE, billing: { periodMonths: 1, firstMonth: 1 } };
const meters: BillMeter[] = [
  { id: 'grid', role: 'grid' },
  { id: 'oven', role: 'load' },
  { id: 'pv', role: 'generator' },
];

/** Two months of a grid meter, an oven and PV, with spot prices known on even slots only. */
function site(from: number, to: number): { energy: SlotEnergy[]; spot: PriceSlot[] } {
  const energy: SlotEnergy[] = [];
  const spot: PriceSlot[] = [];
  for (let start = from, i = 0; start < to; start += SLOT_MS, i++) {
    const oven = (i * 7919) % 500_000;
    const pv = i % 96 >= 40 && i % 96 < 60 ? 300_000 : 0;
    energy.push({ meterId: 'oven', start, importMwh: oven, exportMwh: 0 });
    energy.push({ meterId: 'pv', start, importMwh: 0, exportMwh: pv });
    energy.push({ meterId: 'grid', start, importMwh: Math.max(0, oven - pv) + 10_000, exportMwh: Math.max(0, pv - oven) });
    if (i % 2 === 0) spot.push({ start, end: start + SLOT_MS, price: 0.08 + (i % 13) / 1000 });
  }
  return { energy, spot };
}

describe('costs over any range', () => {
  const march = localMonthRange('2025-03', ROME);
  const april = localMonthRange('2025-04', ROME);
  const { energy, spot } = site(march.start, april.end);
  const between = <T extends { start: number }>(rows: readonly T[], from: number, to: number) => rows.filter((r) => r.start >= from && r.start < to);

  it('cuts ranges at local months and names the months a range touches', () => {
    const from = localDayRange('2025-03-30', ROME).start;
    const to = localDayRange('2025-04-02', ROME).start;
    expect(monthChunks(from, to, ROME)).toEqual([
      { start: from, end: april.start },
      { start: april.start, end: to },
    ]);
    expect(rangePeriod(from, to, ROME).months).toEqual(['2025-03', '2025-04']);
  });

  it('are the bill’s per-load costs, month by month, with settled months remembered', async () => {
    let reads = 0;
    const query = {
      tariff,
      meters,
      from: march.start,
      to: april.end,
      now: april.end + 10 * 86_400_000,
      energy: async (from: number, to: number) => (reads++, between(energy, from, to)),
      spot: async (from: number, to: number) => between(spot, from, to),
    };
    const cache = new CostCache();
    const costs = await rangeCosts(query, cache);
    const bills = ['2025-03', '2025-04'].map((m) => computeBill({ tariff, meters, energy, spot, period: billingPeriodOfMonth(m, tariff), now: query.now }));
    const sum = (f: (b: (typeof bills)[number]) => number) => bills.reduce((s, b) => s + f(b), 0);
    expect(costs.byCentre.get('oven')).toBe(sum((b) => b.centres.find((c) => c.id === 'oven')?.costCents ?? 0));
    expect(costs.byCentre.get(UNMETERED_ID)).toBe(sum((b) => b.centres.find((c) => c.id === UNMETERED_ID)?.costCents ?? 0));
    expect(costs.chargesCents).toBe(sum((b) => b.reconciliation.variableCents));
    expect(costs.creditCents).toBe(sum((b) => b.creditCents));
    expect(costs.fallbackSlots).toBe(sum((b) => b.fallbackSlots));
    expect(costs.fallbackSlots).toBeGreaterThan(0);
    expect(costs.byCentre.get('oven')).toBeGreaterThan(0);
    expect(reads).toBe(2);

    // Settled months come from the cache; new prices (another revision) compute them again.
    expect(await rangeCosts(query, cache)).toEqual(costs);
    expect(reads).toBe(2);
    await rangeCosts({ ...query, revision: 1 }, cache);
    expect(reads).toBe(4);
  });

  it('only count energy before now, and never remember a month still filling in', async () => {
    let reads = 0;
    // In the middle of a slot: energy of that slot so far counts.
    const now = localDayRange('2025-04-10', ROME).start + 5 * 3_600_000 + 7 * 60_000;
    const query = { tariff, meters, from: april.start, to: april.end, now, energy: async (f: number, t: number) => (reads++, between(energy, f, t)), spot: async (f: number, t: number) => between(spot, f, t) };
    const cache = new CostCache();
    const costs = await rangeCosts(query, cache);
    const bill = computeBill({ tariff, meters, energy, spot, period: billingPeriodOfMonth('2025-04', tariff), now });
    expect(costs.byCentre.get('oven')).toBe(bill.centres.find((c) => c.id === 'oven')?.costCents);
    await rangeCosts(query, cache);
    expect(reads).toBe(2);
    expect(cache.size).toBe(0);
    expect(await rangeCosts({ ...query, from: now + SLOT_MS }, cache)).toMatchObject({ energySlots: 0, chargesCents: 0 });
  });
});
