/** Properties of any bill: no mWh lost or made up, lines that add up, loads that add up to the site. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BillMeter, computeBill, type SlotEnergy, UNMETERED_ID } from './billing';
import { billingPeriodOfMonth } from './period';
import { SLOT_MS } from './slot';
import { ITALIAN_F123_EXAMPLE, type Tariff } from './tariff';

const tariff: Tariff = { ...ITALIAN_F123_EXAMPLE, energy: { kind: 'dynamic', markupPerKwh: 0.011, fallback: { kind: 'fixed', perKwh: 0.17 } } };
const period = billingPeriodOfMonth('2025-10', tariff);

const site = fc.record({
  loads: fc.integer({ min: 1, max: 4 }),
  generator: fc.boolean(),
  storage: fc.boolean(),
  grid: fc.boolean(),
  slots: fc.uniqueArray(fc.integer({ min: 0, max: 2979 }), { minLength: 1, maxLength: 40 }),
  seed: fc.array(fc.integer({ min: 0, max: 3_000_000 }), { minLength: 400, maxLength: 400 }),
  spotEvery: fc.integer({ min: 1, max: 3 }),
});

describe('bill invariants', () => {
  it('conserves energy slot by slot and reconciles loads with the site within rounding', () => {
    fc.assert(
      fc.property(site, ({ loads, generator, storage, grid, slots, seed, spotEvery }) => {
        const meters: BillMeter[] = Array.from({ length: loads }, (_, i) => ({ id: `load${i}`, role: 'load' as const }));
        if (generator) meters.push({ id: 'pv', role: 'generator' });
        if (storage) meters.push({ id: 'battery', role: 'storage' });
        if (grid) meters.push({ id: 'grid', role: 'grid' });
        let k = 0;
        const next = (): number => seed[k++ % seed.length] ?? 0;
        const energy: SlotEnergy[] = [];
        for (const index of slots) {
          const start = period.start + index * SLOT_MS;
          for (const m of meters) {
            const imp = m.role === 'generator' ? next() % 1000 : next();
            const exp = m.role === 'load' ? 0 : next();
            energy.push({ meterId: m.id, start, importMwh: imp, exportMwh: exp });
          }
        }
        const spot = slots.filter((_, i) => i % spotEvery === 0).map((i) => ({ start: period.start + i * SLOT_MS, end: period.start + (i + 1) * SLOT_MS, price: ((i % 17) - 3) / 100 }));
        const bill = computeBill({ tariff, meters, energy, spot, period });

        expect(bill.energySlots).toBe(slots.length);
        let imports = 0;
        for (const line of bill.slots) {
          const records = energy.filter((e) => e.start === line.start);
          const subImport = records.filter((e) => e.meterId !== 'grid').reduce((s, e) => s + e.importMwh, 0);
          const subExport = records.filter((e) => e.meterId !== 'grid').reduce((s, e) => s + e.exportMwh, 0);
          // Every mWh of the grid import goes to exactly one cost centre.
          expect(line.centres.reduce((s, c) => s + c.gridMwh, 0)).toBe(line.importMwh);
          // Metered consumption is kept whole, and no meter gets more from the grid than it used.
          expect(line.centres.filter((c) => c.id !== UNMETERED_ID).reduce((s, c) => s + c.consumptionMwh, 0)).toBe(subImport);
          for (const c of line.centres) if (c.id !== UNMETERED_ID) expect(c.gridMwh).toBeLessThanOrEqual(c.consumptionMwh);
          if (grid) {
            const g = records.find((e) => e.meterId === 'grid');
            expect([line.importMwh, line.exportMwh]).toEqual([g?.importMwh, g?.exportMwh]);
          } else {
            expect(line.importMwh - line.exportMwh).toBe(subImport - subExport);
            expect(Math.min(line.importMwh, line.exportMwh)).toBe(0);
          }
          imports += line.importMwh;
        }
        expect(bill.importMwh).toBe(imports);
        expect(bill.centres.reduce((s, c) => s + c.gridMwh, 0)).toBe(imports);
        // The total is the sum of its lines, and the months (one here) bill the same.
        expect(bill.lines.reduce((s, l) => s + l.amountCents, 0)).toBe(bill.totalCents);
        expect(bill.months[0]?.totalCents).toBe(bill.totalCents);
        // Each centre rounds once: Σ centres and the exactly rounded site charges differ by at most half a cent each.
        expect(Math.abs(bill.reconciliation.differenceCents)).toBeLessThanOrEqual(Math.ceil((bill.centres.length + 1) / 2));
        expect(bill.fallbackSlots).toBe(slots.filter((_, i) => i % spotEvery !== 0).length);
      }),
      { numRuns: 150 },
    );
  });
});
