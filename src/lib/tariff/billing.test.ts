/**
 * Bills computed by hand, to the cent. The energy is generated from a stated pattern with plain
 * UTC arithmetic (not the zone code under test); the expected figures are worked out in the tables
 * below from slot counts by day type, and typed in as literals.
 */
import { describe, expect, it } from 'vitest';
import { ITALIAN_F123, SINGLE_BAND } from './bands';
import type { MeterInfo } from '../store/schema';
import type { SlotEnergy as StoredSlotEnergy } from '../store/queries';
import { allocate, type BillLine, type BillMeter, BillingError, billMeters, computeBill, type SlotEnergy, UNMETERED_ID } from './billing';
import { billingPeriodOfMonth } from './period';
import { type PriceSlot, SLOT_MS } from './slot';
import type { Tariff } from './tariff';

const kWh = (n: number): number => Math.round(n * 1_000_000); // to mWh
const summary = (lines: readonly BillLine[]): [string, number][] => lines.map((l) => [l.label, l.amountCents]);

// ---------------------------------------------------------------------------------------------
// April 2025, Europe/Rome (CEST all month, 30 days × 96 = 2880 slots), F1/F2/F3.
//
// Day types (1 April is a Tuesday; Easter Monday 21 April and Liberation Day Friday 25 April):
//   | day type                 | days | F1 slots/day | F2 slots/day | F3 slots/day |
//   | Monday–Friday, working   |  20  |      44      |      20      |      32      |
//   | Saturday                 |   4  |       0      |      64      |      32      |
//   | Sunday                   |   4  |       0      |       0      |      96      |
//   | national holiday         |   2  |       0      |       0      |      96      |
//   | month                    |  30  |  880         |  656         | 1344         |  = 2880
//
// Meters: grid connection; heat pump 150 Wh every slot; oven 500 Wh in the four slots 19:00–20:00
// every day (F2 on the 24 working days and Saturdays = 96 slots, F3 on Sundays and holidays = 24);
// 50 Wh every slot that no sub-meter sees (the grid meter imports it too). No export.
//
//   grid import by band:  F1 880×0.2 = 176 kWh;  F2 656×0.2 + 96×0.5 = 179.2 kWh;  F3 1344×0.2 + 24×0.5 = 280.8 kWh;  636 kWh
//
// Tariff: energy F1 0.135, F2 0.128, F3 0.112; grid fees F1 0.050, F2 0.042, F3 0.038;
// excise 0.0227 (EUR/kWh); fixed 10.00 EUR/month; VAT 10 %.
//
//   | line           | kWh   | rate   | exact     | billed |
//   | Energy F1      | 176   | 0.135  | 23.76     |  23.76 |
//   | Energy F2      | 179.2 | 0.128  | 22.9376   |  22.94 |
//   | Energy F3      | 280.8 | 0.112  | 31.4496   |  31.45 |
//   | Grid fees F1   | 176   | 0.050  |  8.80     |   8.80 |
//   | Grid fees F2   | 179.2 | 0.042  |  7.5264   |   7.53 |
//   | Grid fees F3   | 280.8 | 0.038  | 10.6704   |  10.67 |
//   | Excise         | 636   | 0.0227 | 14.4372   |  14.44 |
//   | Fixed charges  |       |        | 10.00     |  10.00 |
//   | taxable        |       |        |           | 129.59 |
//   | VAT 10 %       |       |        | 12.959    |  12.96 |
//   | total          |       |        |           | 142.55 |
//
// Per load, all-in rate before VAT: F1 0.2077, F2 0.1927, F3 0.1727 (energy + fee + excise).
//   | centre     | F1 kWh | F2 kWh | F3 kWh | net                                              | with VAT  | billed |
//   | heat pump  | 132    | 98.4   | 201.6  | 27.4164 + 18.96168 + 34.81632 = 81.1944         | 89.31384  |  89.31 |
//   | unmetered  |  44    | 32.8   |  67.2  |  9.1388 +  6.32056 + 11.60544 = 27.0648         | 29.77128  |  29.77 |
//   | oven       |   0    | 48     |  12    |            9.2496  +  2.0724  = 11.322          | 12.4542   |  12.45 |
//   | Σ centres  |        |        |        |                                                  |           | 131.53 |
//   | site variable, exact: 119.5812 × 1.1 = 131.53932                                     |           | 131.54 |
// ---------------------------------------------------------------------------------------------

const APRIL_START = Date.UTC(2025, 2, 31, 22); // 1 April 00:00 CEST
const APRIL_SLOTS = 2880;
const f123: Tariff = {
  version: 1,
  name: 'F1/F2/F3 test',
  currency: 'EUR',
  timeZone: 'Europe/Rome',
  bands: ITALIAN_F123,
  energy: { kind: 'time-of-use', perKwh: { F1: 0.135, F2: 0.128, F3: 0.112 } },
  gridFees: { kind: 'time-of-use', perKwh: { F1: 0.05, F2: 0.042, F3: 0.038 } },
  excisePerKwh: 0.0227,
  vatPercent: 10,
  fixedPerMonth: 10,
  feedIn: { kind: 'none' },
  billing: { periodMonths: 1, firstMonth: 1 },
};
const aprilMeters: BillMeter[] = [
  { id: 'grid', role: 'grid', name: 'Grid' },
  { id: 'heat-pump', role: 'load', name: 'Heat pump' },
  { id: 'oven', role: 'load', name: 'Oven' },
];

function aprilEnergy(): SlotEnergy[] {
  const energy: SlotEnergy[] = [];
  for (let i = 0; i < APRIL_SLOTS; i++) {
    const start = APRIL_START + i * SLOT_MS;
    const localHour = Math.floor((i % 96) / 4); // CEST all month, days start at local midnight
    const oven = localHour === 19 ? kWh(0.5) : 0;
    energy.push({ meterId: 'heat-pump', start, importMwh: kWh(0.15), exportMwh: 0 });
    if (oven) energy.push({ meterId: 'oven', start, importMwh: oven, exportMwh: 0 });
    energy.push({ meterId: 'grid', start, importMwh: kWh(0.15) + oven + kWh(0.05), exportMwh: 0 });
  }
  return energy;
}

describe('a hand-computed F1/F2/F3 month', () => {
  const bill = computeBill({ tariff: f123, meters: aprilMeters, energy: aprilEnergy(), period: billingPeriodOfMonth('2025-04', f123) });

  it('bills each line to the cent', () => {
    expect(summary(bill.lines)).toEqual([
      ['Energy F1', 2376],
      ['Energy F2', 2294],
      ['Energy F3', 3145],
      ['Grid fees F1', 880],
      ['Grid fees F2', 753],
      ['Grid fees F3', 1067],
      ['Excise', 1444],
      ['Fixed charges 2025-04', 1000],
      ['VAT 10%', 1296],
    ]);
    expect(bill.lines.filter((l) => l.kind === 'energy').map((l) => l.quantityMwh)).toEqual([kWh(176), kWh(179.2), kWh(280.8)]);
    expect(bill.taxableCents).toBe(12959);
    expect(bill.vatCents).toBe(1296);
    expect(bill.totalCents).toBe(14255);
    expect(bill.importMwh).toBe(kWh(636));
    expect(bill.complete).toBe(true);
    expect(bill.energySlots).toBe(APRIL_SLOTS);
    expect(bill.gridEstimatedSlots).toBe(0);
  });

  it('costs each load, and the unmetered rest, to the cent', () => {
    const centres = Object.fromEntries(bill.centres.map((c) => [c.id, c]));
    expect(centres['heat-pump']?.costCents).toBe(8931);
    expect(centres[UNMETERED_ID]?.costCents).toBe(2977);
    expect(centres.oven?.costCents).toBe(1245);
    expect(centres['heat-pump']?.byBand.map((b) => [b.band, b.gridMwh, b.costCents])).toEqual([
      ['F1', kWh(132), 3016],
      ['F2', kWh(98.4), 2086],
      ['F3', kWh(201.6), 3830],
    ]);
    expect(centres.oven?.byBand.map((b) => [b.band, b.gridMwh])).toEqual([['F2', kWh(48)], ['F3', kWh(12)]]);
    expect(centres['heat-pump']?.selfSuppliedMwh).toBe(0);
    // Σ centres 131.53 against the site's variable charges 131.54: one cent of per-line rounding.
    expect(bill.reconciliation).toEqual({ variableCents: 13154, allocatedCents: 13153, differenceCents: -1 });
  });

  it('gives day and band totals', () => {
    expect(bill.days).toHaveLength(30);
    // Monday 7 April: F1 8.8, F2 4 + 2 (oven), F3 6.4 kWh → (1.82776 + 1.1562 + 1.10528) × 1.1 = 4.498164
    expect(bill.days.find((d) => d.date === '2025-04-07')).toMatchObject({ importMwh: kWh(21.2), chargesCents: 450, creditCents: 0, netCents: 450 });
    // Sunday 6 April: 21.2 kWh, all F3 → 21.2 × 0.1727 × 1.1 = 4.027364
    expect(bill.days.find((d) => d.date === '2025-04-06')?.chargesCents).toBe(403);
    expect(bill.bands.map((b) => [b.band, b.gridMwh])).toEqual([['F1', kWh(176)], ['F2', kWh(179.2)], ['F3', kWh(280.8)]]);
    expect(bill.months).toHaveLength(1);
    expect(bill.months[0]?.totalCents).toBe(14255);
  });

  it('bills half the month so far and projects the whole', () => {
    // 1–15 April: 11 working days, 2 Saturdays, 2 Sundays → F1 484, F2 348, F3 608 slots;
    // oven 52 slots in F2, 8 in F3. Grid: F1 96.8, F2 95.6, F3 125.6 kWh (318).
    //   | line          | exact    | billed |
    //   | Energy F1     | 13.068   | 13.07  |
    //   | Energy F2     | 12.2368  | 12.24  |
    //   | Energy F3     | 14.0672  | 14.07  |
    //   | Grid fees F1  |  4.84    |  4.84  |
    //   | Grid fees F2  |  4.0152  |  4.02  |
    //   | Grid fees F3  |  4.7728  |  4.77  |
    //   | Excise        |  7.2186  |  7.22  |
    //   | Fixed (half)  |  5.00    |  5.00  |
    //   | taxable 65.23, VAT 6.523 → 6.52, total 71.75
    // Projection: variable 60.2186 × 2 = 120.4372 → 120.44, + fixed 10.00 = 130.44, VAT 13.04, total 143.48.
    const now = APRIL_START + 15 * 96 * SLOT_MS;
    const half = computeBill({ tariff: f123, meters: aprilMeters, energy: aprilEnergy(), period: billingPeriodOfMonth('2025-04', f123), now });
    expect(half.complete).toBe(false);
    expect(summary(half.lines)).toEqual([
      ['Energy F1', 1307],
      ['Energy F2', 1224],
      ['Energy F3', 1407],
      ['Grid fees F1', 484],
      ['Grid fees F2', 402],
      ['Grid fees F3', 477],
      ['Excise', 722],
      ['Fixed charges 2025-04 (part)', 500],
      ['VAT 10%', 652],
    ]);
    expect(half.totalCents).toBe(7175);
    expect(half.projection).toEqual({ taxableCents: 13044, vatCents: 1304, creditCents: 0, totalCents: 14348 });
  });
});

// ---------------------------------------------------------------------------------------------
// October 2025, Europe/Rome, 15-minute spot prices (the first month of the 15-minute day-ahead
// market). 31 days, and 26 October has 100 slots: 2980 slots, 745 at each quarter of the hour.
// No grid meter: the site's import and export are the balance of the sub-meters.
//
// Spot by quarter of the hour (UTC and local minutes agree): :00 0.10, :15 0.12, :30 0.08,
// :45 0.14 EUR/kWh. Markup 0.01; grid fee 0.04; excise 0.0227; fixed 8.50; VAT 10 %;
// feed-in = spot − 0.005 (floored at zero).
//
// House: 50, 100, 150, 200 Wh in the :00, :15, :30, :45 slots. EV: 1500 Wh in every slot of the
// local hours 01 and 02: 8 slots a day, 12 on 26 October when 02:00–03:00 happens twice
// (252 slots, 63 per quarter). PV: exports 300 Wh in every slot 11:00–13:00 (248 slots, 62 per
// quarter), when the house draws from it: import 0, export 300 − house.
//
//   | quarter | house grid kWh | EV kWh | import G | spot+markup | energy    | export X | feed-in | credit  |
//   | :00     | 683 × 0.05     | 94.5   | 128.65   | 0.11        | 14.1515   | 15.5     | 0.095   | 1.4725  |
//   | :15     | 683 × 0.10     | 94.5   | 162.80   | 0.13        | 21.164    | 12.4     | 0.115   | 1.426   |
//   | :30     | 683 × 0.15     | 94.5   | 196.95   | 0.09        | 17.7255   |  9.3     | 0.075   | 0.6975  |
//   | :45     | 683 × 0.20     | 94.5   | 231.10   | 0.15        | 34.665    |  6.2     | 0.135   | 0.837   |
//   | month   |                |        | 719.50   |             | 87.706    | 43.4     |         | 4.433   |
//
//   Energy 87.71; grid fees 719.5 × 0.04 = 28.78; excise 719.5 × 0.0227 = 16.33265 → 16.33;
//   fixed 8.50; taxable 141.32; VAT 14.132 → 14.13; feed-in credit 4.43; total 151.02.
//
// Per load, all-in before VAT by quarter: 0.1727, 0.1927, 0.1527, 0.2127.
//   house: 34.15×0.1727 + 68.3×0.1927 + 102.45×0.1527 + 136.6×0.2127 = 63.75805 × 1.1 = 70.133855 → 70.13
//   EV:    94.5 × (0.1727 + 0.1927 + 0.1527 + 0.2127) = 69.0606 × 1.1 = 75.96666 → 75.97
//   house self-supplied at midday: 62 × 0.5 = 31 kWh, avoided 5.7877 × 1.1 = 6.36647 → 6.37
//   site variable: 132.81865 × 1.1 = 146.100515 → 146.10 = 70.13 + 75.97
// ---------------------------------------------------------------------------------------------

const OCT_START = Date.UTC(2025, 8, 30, 22);
const OCT_END = Date.UTC(2025, 9, 31, 23);
const DST_END = Date.UTC(2025, 9, 26, 1); // 03:00 CEST becomes 02:00 CET
const SPOT = [0.1, 0.12, 0.08, 0.14];
const HOUSE_WH = [50, 100, 150, 200];
const dynamic: Tariff = {
  version: 1,
  name: '15-minute dynamic test',
  currency: 'EUR',
  timeZone: 'Europe/Rome',
  bands: SINGLE_BAND,
  energy: { kind: 'dynamic', markupPerKwh: 0.01, fallback: { kind: 'fixed', perKwh: 0.2 } },
  gridFees: { kind: 'fixed', perKwh: 0.04 },
  excisePerKwh: 0.0227,
  vatPercent: 10,
  fixedPerMonth: 8.5,
  feedIn: { kind: 'spot', factor: 1, offsetPerKwh: -0.005, floorAtZero: true, fallbackPerKwh: 0.03 },
  billing: { periodMonths: 1, firstMonth: 1 },
};
const octMeters: BillMeter[] = [
  { id: 'house', role: 'load', name: 'House' },
  { id: 'ev', role: 'load', name: 'EV charger' },
  { id: 'pv', role: 'generator', name: 'PV' },
];

function octoberSlots(): { start: number; quarter: number; localHour: number }[] {
  const slots = [];
  for (let start = OCT_START; start < OCT_END; start += SLOT_MS) {
    const d = new Date(start);
    const offsetHours = start < DST_END ? 2 : 1;
    slots.push({ start, quarter: d.getUTCMinutes() / 15, localHour: (d.getUTCHours() + offsetHours) % 24 });
  }
  return slots;
}

function octoberEnergy(): SlotEnergy[] {
  const energy: SlotEnergy[] = [];
  for (const { start, quarter, localHour } of octoberSlots()) {
    energy.push({ meterId: 'house', start, importMwh: (HOUSE_WH[quarter] ?? 0) * 1000, exportMwh: 0 });
    if (localHour === 1 || localHour === 2) energy.push({ meterId: 'ev', start, importMwh: kWh(1.5), exportMwh: 0 });
    if (localHour === 11 || localHour === 12) energy.push({ meterId: 'pv', start, importMwh: 0, exportMwh: kWh(0.3) });
  }
  return energy;
}

const octoberSpot = (): PriceSlot[] => octoberSlots().map(({ start, quarter }) => ({ start, end: start + SLOT_MS, price: SPOT[quarter] ?? 0 }));

describe('a hand-computed month on 15-minute spot prices', () => {
  const period = billingPeriodOfMonth('2025-10', dynamic);
  const bill = computeBill({ tariff: dynamic, meters: octMeters, energy: octoberEnergy(), spot: octoberSpot(), period });

  it('has the month of 2980 slots', () => {
    expect((period.end - period.start) / SLOT_MS).toBe(2980);
    expect(bill.energySlots).toBe(2980);
    expect(bill.fallbackSlots).toBe(0);
  });

  it('bills each line to the cent', () => {
    expect(summary(bill.lines)).toEqual([
      ['Energy', 8771],
      ['Grid fees', 2878],
      ['Excise', 1633],
      ['Fixed charges 2025-10', 850],
      ['VAT 10%', 1413],
      ['Feed-in credit', -443],
    ]);
    expect(bill.importMwh).toBe(kWh(719.5));
    expect(bill.exportMwh).toBe(kWh(43.4));
    expect(bill.taxableCents).toBe(14132);
    expect(bill.creditCents).toBe(443);
    expect(bill.totalCents).toBe(15102);
    expect(bill.hasGridMeter).toBe(false);
  });

  it('costs each load and credits none of the feed-in to them', () => {
    const centres = Object.fromEntries(bill.centres.map((c) => [c.id, c]));
    expect(centres.house).toMatchObject({ consumptionMwh: kWh(372.5), gridMwh: kWh(341.5), selfSuppliedMwh: kWh(31), costCents: 7013, avoidedCents: 637 });
    expect(centres.ev).toMatchObject({ consumptionMwh: kWh(378), gridMwh: kWh(378), selfSuppliedMwh: 0, costCents: 7597 });
    expect(centres.pv).toBeUndefined();
    expect(bill.reconciliation).toEqual({ variableCents: 14610, allocatedCents: 14610, differenceCents: 0 });
  });

  it('counts the repeated hour on 26 October: the EV charged 12 slots that day', () => {
    const evSlots = (date: string): number => bill.slots.filter((s) => s.centres.some((c) => c.id === 'ev')).filter((s) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome' }).format(s.start) === date).length;
    expect(evSlots('2025-10-26')).toBe(12);
    expect(evSlots('2025-10-25')).toBe(8);
    // 100 slots: house from the grid in the 92 outside midday (23 per quarter × 0.5 kWh = 11.5), EV 12 × 1.5 = 18;
    // export in the 8 midday slots, 2 per quarter: 2 × (1.2 − 0.5) = 1.4 kWh.
    expect(bill.days.find((d) => d.date === '2025-10-26')).toMatchObject({ importMwh: kWh(29.5), exportMwh: kWh(1.4) });
  });

  it('prices slots without a spot price at the fallback and counts them', () => {
    const missingDay = octoberSpot().filter((s) => s.start < Date.UTC(2025, 9, 1, 22) || s.start >= Date.UTC(2025, 9, 2, 22)); // drop 2 October
    const partial = computeBill({ tariff: dynamic, meters: octMeters, energy: octoberEnergy(), spot: missingDay, period });
    expect(partial.fallbackSlots).toBe(96);
    const day = partial.slots.filter((s) => s.rates.energySource === 'fallback');
    expect(day).toHaveLength(96);
    expect(day.every((s) => s.rates.energy === 0.2 && s.rates.feedIn === 0.03)).toBe(true);
  });
});

describe('allocation of the grid import among consumers', () => {
  it('shares whole mWh by largest remainder, adding up exactly', () => {
    expect(allocate(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(allocate(100, [50, 30, 20])).toEqual([50, 30, 20]);
    expect(allocate(7, [2, 5])).toEqual([2, 5]);
    expect(allocate(5, [3, 3])).toEqual([3, 2]);
    expect(allocate(0, [3, 3])).toEqual([0, 0]);
    expect(allocate(1, [1, 3])).toEqual([0, 1]);
  });
});

describe('input that would lose or invent energy', () => {
  const period = billingPeriodOfMonth('2025-04', f123);
  const base = { tariff: f123, meters: aprilMeters, period };
  it('is refused with a clear message', () => {
    expect(() => computeBill({ ...base, energy: [{ meterId: 'fridge', start: APRIL_START, importMwh: 1, exportMwh: 0 }] })).toThrow(new BillingError('Energy for meter fridge, which is not in the meter list'));
    expect(() => computeBill({ ...base, energy: [{ meterId: 'oven', start: APRIL_START + 1000, importMwh: 1, exportMwh: 0 }] })).toThrow(/not on a 15-minute slot/);
    expect(() => computeBill({ ...base, energy: [{ meterId: 'oven', start: APRIL_START, importMwh: 1.5, exportMwh: 0 }] })).toThrow(/whole, non-negative mWh/);
    expect(() => computeBill({ ...base, energy: [{ meterId: 'oven', start: APRIL_START, importMwh: -1, exportMwh: 0 }] })).toThrow(/whole, non-negative mWh/);
    const twice = { meterId: 'oven', start: APRIL_START, importMwh: 1, exportMwh: 0 };
    expect(() => computeBill({ ...base, energy: [twice, twice] })).toThrow(/Two energy records for oven/);
    expect(() => computeBill({ ...base, meters: [...aprilMeters, { id: 'oven', role: 'load' }], energy: [] })).toThrow(/listed twice/);
    expect(() => computeBill({ ...base, tariff: { ...f123, vatPercent: 220 }, energy: [] })).toThrow(/The tariff is not valid: vatPercent/);
  });

  it('falls back to the sub-meters where the grid meter sent nothing, and says how often', () => {
    const energy = aprilEnergy().filter((e) => !(e.meterId === 'grid' && e.start === APRIL_START));
    const bill = computeBill({ ...base, energy });
    expect(bill.gridEstimatedSlots).toBe(1);
    expect(bill.slots[0]).toMatchObject({ gridMeasured: false, importMwh: kWh(0.15) });
  });
});

describe('CSV export', () => {
  it('writes the bill lines with exact amounts and a total', async () => {
    const { billLinesCsv } = await import('./bill-csv');
    const bill = computeBill({ tariff: f123, meters: aprilMeters, energy: aprilEnergy(), period: billingPeriodOfMonth('2025-04', f123) });
    const csv = billLinesCsv(bill).split('\r\n');
    expect(csv[0]).toBe('kind,label,band,month,quantity_kwh,rate_per_kwh,amount,currency');
    expect(csv[1]).toBe('energy,Energy F1,F1,,176.000000,0.135,23.76,EUR');
    expect(csv[7]).toBe('excise,Excise,,,636.000000,0.0227,14.44,EUR');
    expect(csv[8]).toBe('fixed-fee,Fixed charges 2025-04,,2025-04,,,10.00,EUR');
    expect(csv[9]).toBe('vat,VAT 10%,,,,,12.96,EUR');
    expect(csv[10]).toBe('total,Total,,,,,142.55,EUR');
  });

  it('writes each slot per load, the repeated hour told apart by its offset', async () => {
    const { billSlotsCsv } = await import('./bill-csv');
    const bill = computeBill({ tariff: dynamic, meters: octMeters, energy: octoberEnergy(), spot: octoberSpot(), period: billingPeriodOfMonth('2025-10', dynamic) });
    const rows = billSlotsCsv(bill, dynamic).split('\r\n');
    expect(rows[0]).toBe('slot_start_utc,slot_start_local,band,price_source,spot_per_kwh,import_price_per_kwh,feed_in_per_kwh,meter,role,consumption_kwh,grid_kwh,self_supplied_kwh,cost,currency');
    // 26 October, 02:15 twice: CEST then CET. The EV pays 1.5 kWh × (0.12 + 0.0727) × 1.1 = 0.317955.
    const ev = rows.filter((r) => r.includes(',ev,') && r.includes('2025-10-26 02:15'));
    expect(ev).toEqual([
      '2025-10-26T00:15:00.000Z,2025-10-26 02:15 +02:00,all,spot,0.12,0.21197,0.115,ev,load,1.500000,1.500000,0.000000,0.317955,EUR',
      '2025-10-26T01:15:00.000Z,2025-10-26 02:15 +01:00,all,spot,0.12,0.21197,0.115,ev,load,1.500000,1.500000,0.000000,0.317955,EUR',
    ]);
    // A midday slot: the house is supplied by PV and the site exports 0.3 − 0.05 kWh at 0.095.
    const noon = rows.filter((r) => r.startsWith('2025-10-01T09:00:00.000Z'));
    expect(noon).toEqual([
      '2025-10-01T09:00:00.000Z,2025-10-01 11:00 +02:00,all,spot,0.1,0.18997,0.095,house,load,0.050000,0.000000,0.050000,0.000000,EUR',
      '2025-10-01T09:00:00.000Z,2025-10-01 11:00 +02:00,all,spot,0.1,0.18997,0.095,site,grid-import,,0.000000,,0.000000,EUR',
      '2025-10-01T09:00:00.000Z,2025-10-01 11:00 +02:00,all,spot,0.1,0.18997,0.095,site,grid-export,,0.250000,,-0.023750,EUR',
    ]);
  });
});

describe('the history store as input', () => {
  it("bills the store's slot energy and registry meters as they are", () => {
    const info = (uid: string, name: string, kind: MeterInfo['kind'], gridPoint: boolean): MeterInfo => ({ uid, node: 1, name, kind, priority: 1, gridPoint, interruptible: true, firmware: '1', firstSeen: 0, lastSeen: 0 });
    const meters = billMeters([info('a1', 'Main', 'load', true), info('b2', 'Oven', 'load', false), info('c3', 'Roof PV', 'generator', false)]);
    expect(meters).toEqual([{ id: 'a1', name: 'Main', role: 'grid' }, { id: 'b2', name: 'Oven', role: 'load' }, { id: 'c3', name: 'Roof PV', role: 'generator' }]);
    const stored: StoredSlotEnergy[] = [
      { meterId: 'a1', start: APRIL_START, importMwh: kWh(1), exportMwh: 0 },
      { meterId: 'b2', start: APRIL_START, importMwh: kWh(1.5), exportMwh: 0 },
      { meterId: 'c3', start: APRIL_START, importMwh: 0, exportMwh: kWh(0.5) },
    ];
    const bill = computeBill({ tariff: f123, meters, energy: stored, period: billingPeriodOfMonth('2025-04', f123) });
    // 1 kWh from the grid, 0.5 from the roof: the oven got all of the grid's kWh, F3 (Tuesday 00:00) at 0.1727 × 1.1.
    expect(bill.centres.map((c) => [c.name, c.gridMwh, c.selfSuppliedMwh, c.costCents])).toEqual([['Oven', kWh(1), kWh(0.5), 19]]);
  });
});
