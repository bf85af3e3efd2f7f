/**
 * Tariff figures: how long the bill of a whole month takes (the Bill screen recomputes it when
 * data arrive), a load's cost over a year (its detail screen, month by month, then from the cache
 * of settled months), and how long the price parsers take on a day and a month of 15-minute slots.
 */
import { type BillMeter, computeBill, type SlotEnergy } from '../src/lib/tariff/billing';
import { CostCache, rangeCosts } from '../src/lib/tariff/costs';
import { billingPeriodOfMonth } from '../src/lib/tariff/period';
import { parseEnergyCharts } from '../src/lib/tariff/providers/energy-charts';
import { parseEntsoe } from '../src/lib/tariff/providers/entsoe';
import { type PriceSlot, SLOT_MS } from '../src/lib/tariff/slot';
import { ITALIAN_F123_EXAMPLE, type Tariff } from '../src/lib/tariff/tariff';
import { energyChartsBody, entsoeA44 } from '../src/lib/tariff/testing';
import type { Figures } from './figures';

function medianMs(runs: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) fn(); // warm-up: let the JIT settle
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

export async function benchTariff(figures: Figures): Promise<void> {
  const tariff: Tariff = { ...ITALIAN_F123_EXAMPLE, energy: { kind: 'dynamic', markupPerKwh: 0.01, fallback: { kind: 'fixed', perKwh: 0.2 } } };
  const period = billingPeriodOfMonth('2025-10', tariff);
  const meters: BillMeter[] = [{ id: 'grid', role: 'grid' }, { id: 'pv', role: 'generator' }, ...Array.from({ length: 8 }, (_, i) => ({ id: `load${i}`, role: 'load' as const }))];
  const energy: SlotEnergy[] = [];
  const spot: PriceSlot[] = [];
  for (let start = period.start, i = 0; start < period.end; start += SLOT_MS, i++) {
    let loads = 0;
    for (let m = 0; m < 8; m++) {
      const mwh = ((i * 7919 + m * 104729) % 400) * 1000;
      loads += mwh;
      energy.push({ meterId: `load${m}`, start, importMwh: mwh, exportMwh: 0 });
    }
    const pv = (i % 96) >= 40 && (i % 96) < 64 ? 900_000 : 0;
    energy.push({ meterId: 'pv', start, importMwh: 0, exportMwh: pv });
    energy.push({ meterId: 'grid', start, importMwh: Math.max(0, loads - pv) + 20_000, exportMwh: Math.max(0, pv - loads) });
    spot.push({ start, end: start + SLOT_MS, price: 0.05 + (i % 37) / 1000 });
  }
  const slots = (period.end - period.start) / SLOT_MS;
  const billMs = medianMs(15, () => void computeBill({ tariff, meters, energy, spot, period }));
  figures.add('tariff', 'bill_month_10_meters_ms', billMs, 'ms', '< 200', `${slots} slots × 10 meters (grid, PV, 8 loads), dynamic F1/F2/F3 tariff, one core`);

  // A year of the same site (8 loads, PV, grid meter): what a load's detail screen computes for "year".
  const year = billingPeriodOfMonth('2025-01', { ...tariff, billing: { periodMonths: 12, firstMonth: 1 } });
  const yearEnergy: SlotEnergy[] = [];
  const yearSpot: PriceSlot[] = [];
  for (let start = year.start, i = 0; start < year.end; start += SLOT_MS, i++) {
    let loads = 0;
    for (let m = 0; m < 8; m++) {
      const mwh = ((i * 7919 + m * 104729) % 400) * 1000;
      loads += mwh;
      yearEnergy.push({ meterId: `load${m}`, start, importMwh: mwh, exportMwh: 0 });
    }
    const pv = (i % 96) >= 40 && (i % 96) < 64 ? 900_000 : 0;
    yearEnergy.push({ meterId: 'pv', start, importMwh: 0, exportMwh: pv });
    yearEnergy.push({ meterId: 'grid', start, importMwh: Math.max(0, loads - pv) + 20_000, exportMwh: Math.max(0, pv - loads) });
    yearSpot.push({ start, end: start + SLOT_MS, price: 0.05 + (i % 37) / 1000 });
  }
  // The store's reads are not timed here: a sorted array stands in for IndexedDB.
  const slice = <T extends { start: number }>(rows: readonly T[], from: number, to: number): T[] => {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((rows[mid]?.start ?? 0) < from) lo = mid + 1;
      else hi = mid;
    }
    const out: T[] = [];
    for (let k = lo; k < rows.length && (rows[k]?.start ?? 0) < to; k++) out.push(rows[k] as T);
    return out;
  };
  const query = { tariff, meters, from: year.start, to: year.end, now: year.end + 7 * 86_400_000, energy: async (f: number, t: number) => slice(yearEnergy, f, t), spot: async (f: number, t: number) => slice(yearSpot, f, t) };
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    const t0 = performance.now();
    await rangeCosts(query, new CostCache());
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  figures.add('tariff', 'costs_year_10_meters_ms', times[2] ?? 0, 'ms', '< 2000', `a load's cost over a year: 12 monthly bills of ${yearEnergy.length} slot records in all, one core`);
  const cache = new CostCache();
  await rangeCosts(query, cache);
  const cachedMs = (() => {
    const t0 = performance.now();
    return rangeCosts(query, cache).then(() => performance.now() - t0);
  })();
  figures.add('tariff', 'costs_year_cached_ms', await cachedMs, 'ms', '< 5', 'the same year again: every month settled, from the cache');

  const day = energyChartsBody(period.start, SLOT_MS, Array.from({ length: 96 }, (_, i) => 80 + i / 10));
  figures.add('tariff', 'parse_energy_charts_day_ms', medianMs(200, () => void parseEnergyCharts(day)), 'ms', '', '96 quarter-hour prices');
  const month = entsoeA44(period.start, 'PT15M', Array.from({ length: slots }, (_, i) => 80 + (i % 50)), 'A03');
  figures.add('tariff', 'parse_entsoe_month_ms', medianMs(15, () => void parseEntsoe(month)), 'ms', '', `A44 XML, ${slots} points, ${(month.length / 1024).toFixed(0)} KiB`);
}
