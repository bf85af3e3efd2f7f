/**
 * The bill, slot by slot: what the site pays the supplier and what each load costs.
 *
 * Input is energy per meter per 15-minute slot, integer mWh from register differences. For every
 * slot the site's grid import G and export X are the grid meter's registers (or, without a grid
 * meter, the sub-meters' balance: G = max(0, C − P), X = max(0, P − C), with C what the other
 * meters import and P what they export). G × (energy + grid fee + excise) is charged, X × feed-in
 * is credited, fixed fees are added per month and VAT on the lot; amounts are exact until each
 * bill line rounds once, to the cent, half away from zero (docs/billing.md).
 *
 * Per load: in each slot the grid import is shared among the consumers (every non-grid meter's
 * import, and with a grid meter the consumption no sub-meter saw) in proportion to their
 * consumption, in whole mWh by largest remainder so that the shares add up to G exactly. The
 * rest of a load's consumption was supplied on site (PV, battery, cogeneration). A load's cost is
 * its grid share at the slot's import rates, VAT included; fixed fees and feed-in credits belong
 * to the site. So the costs of the loads and of the unmetered rest add up to the site's variable
 * charges, to within the rounding of one cent per line.
 */
import { bandAt } from './bands';
import { femtoAmount, grossCents, nanoRate, roundDiv, toCents, vatCents, vatPpm } from './money';
import type { BillingPeriod } from './period';
import { type PriceSlot, SLOT_MS } from './slot';
import { slotRates, type SlotRates, type Tariff, validateTariff } from './tariff';
import { issuesMessage } from './validation';
import { formatLocalDate, type LocalDate, type LocalMonth, localDateTime, localMonthRange } from './zone';

export const METER_ROLES = ['grid', 'load', 'generator', 'cogenerator', 'storage'] as const;
/** `grid`: the connection point (import = from the grid). Others import when they consume and export when they supply. */
export type MeterRole = (typeof METER_ROLES)[number];

/** Energy of one meter in one slot, as the history store provides it. */
export interface SlotEnergy {
  readonly meterId: string;
  /** ms UTC, slot start (a multiple of SLOT_MS). */
  readonly start: number;
  /** Integers, mWh, from register differences. */
  readonly importMwh: number;
  readonly exportMwh: number;
}

export interface BillMeter {
  readonly id: string;
  readonly role: MeterRole;
  readonly name?: string;
}

/**
 * The bill's meters from the registry's (`MeterInfo` of src/lib/store): the meter at the grid
 * connection point bills as `grid`, the others by their kind.
 */
export function billMeters(infos: readonly { readonly uid: string; readonly name: string; readonly kind: Exclude<MeterRole, 'grid'>; readonly gridPoint: boolean }[]): BillMeter[] {
  return infos.map((m) => ({ id: m.uid, name: m.name, role: m.gridPoint ? 'grid' : m.kind }));
}

/** The cost centre of consumption no sub-meter saw (only with a grid meter). */
export const UNMETERED_ID = '(unmetered)';

export class BillingError extends Error {
  override readonly name = 'BillingError';
}

export interface BillInput {
  readonly tariff: Tariff;
  readonly meters: readonly BillMeter[];
  readonly energy: readonly SlotEnergy[];
  /** Spot prices, currency per kWh (the price service's slots); needed by dynamic tariffs and spot-indexed feed-in. */
  readonly spot?: readonly PriceSlot[];
  readonly period: BillingPeriod;
  /** Energy before this instant is billed and the rest of the period projected; the period's end when absent. */
  readonly now?: number;
}

export type BillLineKind = 'energy' | 'grid-fee' | 'excise' | 'fixed-fee' | 'vat' | 'feed-in';

/** One line of the bill, rounded once to the cent. */
export interface BillLine {
  readonly kind: BillLineKind;
  readonly label: string;
  readonly band?: string;
  readonly month?: LocalMonth;
  readonly quantityMwh?: number;
  /** Average rate of the line, currency per kWh before VAT (for showing; the amount is exact). */
  readonly ratePerKwh?: number;
  /** Negative for credits. */
  readonly amountCents: number;
}

export interface BandUse {
  readonly band: string;
  readonly consumptionMwh: number;
  readonly gridMwh: number;
  /** Grid share at the import rates, VAT included. */
  readonly costCents: number;
}

/** A load (or generator, or storage, when they consume), or the unmetered rest. */
export interface CostCentre {
  readonly id: string;
  readonly role: MeterRole | 'unmetered';
  readonly name: string;
  readonly consumptionMwh: number;
  /** The part of the consumption that came from the grid. */
  readonly gridMwh: number;
  /** The part supplied on site. */
  readonly selfSuppliedMwh: number;
  /** Grid share at the slots' import rates, VAT included. */
  readonly costCents: number;
  /** What the self-supplied part would have cost from the grid, VAT included. */
  readonly avoidedCents: number;
  readonly byBand: readonly BandUse[];
}

export interface SlotCentre {
  readonly id: string;
  readonly consumptionMwh: number;
  readonly gridMwh: number;
  /** Grid share × import rates, VAT included, in 1e-6 currency (not rounded to cents: detail only). */
  readonly costMicros: number;
}

export interface SlotLine {
  readonly start: number;
  readonly band: string;
  readonly spot: number | undefined;
  readonly rates: SlotRates;
  /** Whether G and X come from the grid meter (false: from the sub-meters' balance). */
  readonly gridMeasured: boolean;
  readonly importMwh: number;
  readonly exportMwh: number;
  /** Import charges of the slot, VAT included, 1e-6 currency. */
  readonly importMicros: number;
  /** Feed-in credit of the slot, 1e-6 currency. */
  readonly creditMicros: number;
  readonly centres: readonly SlotCentre[];
}

export interface DayTotal {
  readonly date: LocalDate;
  readonly importMwh: number;
  readonly exportMwh: number;
  /** Variable charges, VAT included (no fixed fees), rounded once for the day. */
  readonly chargesCents: number;
  readonly creditCents: number;
  readonly netCents: number;
  /** Each cost centre's cost that day, VAT included. */
  readonly byCentre: Readonly<Record<string, number>>;
}

export interface MonthTotal {
  readonly month: LocalMonth;
  readonly importMwh: number;
  readonly exportMwh: number;
  /** The month billed on its own with the same lines and rounding; equal to the bill when the period is that month. */
  readonly lines: readonly BillLine[];
  readonly totalCents: number;
}

export interface Projection {
  readonly taxableCents: number;
  readonly vatCents: number;
  readonly creditCents: number;
  readonly totalCents: number;
}

export interface Bill {
  readonly currency: string;
  readonly period: BillingPeriod;
  /** Energy up to here is in the bill. */
  readonly billedUntil: number;
  readonly complete: boolean;
  readonly hasGridMeter: boolean;
  /** Slots in which a grid meter exists but sent nothing, so G and X came from the sub-meters. */
  readonly gridEstimatedSlots: number;
  /** Slots that had any energy record. */
  readonly energySlots: number;
  /** Slots whose energy or feed-in was priced at the tariff's fallback because no spot price was known. */
  readonly fallbackSlots: number;
  readonly lines: readonly BillLine[];
  readonly taxableCents: number;
  readonly vatCents: number;
  /** Positive: what the feed-in credit line subtracts. */
  readonly creditCents: number;
  readonly totalCents: number;
  readonly importMwh: number;
  readonly exportMwh: number;
  readonly centres: readonly CostCentre[];
  readonly bands: readonly BandUse[];
  readonly days: readonly DayTotal[];
  readonly months: readonly MonthTotal[];
  readonly slots: readonly SlotLine[];
  /** The whole period at the pace so far (linear); null before any energy is billed. */
  readonly projection: Projection | null;
  /** Σ cost centres against the site's variable charges (VAT included): they differ only by per-line rounding. */
  readonly reconciliation: { readonly variableCents: number; readonly allocatedCents: number; readonly differenceCents: number };
}

/** Running sums of one scope (the period, a month). */
class LineSums {
  readonly energy = new Map<string, { mwh: number; femto: bigint }>();
  readonly fees = new Map<string, { mwh: number; femto: bigint }>();
  excise = { mwh: 0, femto: 0n };
  feedIn = { mwh: 0, femto: 0n };
  importMwh = 0;
  exportMwh = 0;

  add(band: string, feeKey: string, importMwh: number, exportMwh: number, r: NanoRates): void {
    const g = BigInt(importMwh);
    bump(this.energy, band, importMwh, g * r.energy);
    bump(this.fees, feeKey, importMwh, g * r.gridFee);
    this.excise.mwh += importMwh;
    this.excise.femto += g * r.excise;
    this.feedIn.mwh += exportMwh;
    this.feedIn.femto += BigInt(exportMwh) * r.feedIn;
    this.importMwh += importMwh;
    this.exportMwh += exportMwh;
  }

  variableFemto(): bigint {
    let sum = this.excise.femto;
    for (const v of this.energy.values()) sum += v.femto;
    for (const v of this.fees.values()) sum += v.femto;
    return sum;
  }
}

function bump(map: Map<string, { mwh: number; femto: bigint }>, key: string, mwh: number, femto: bigint): void {
  const entry = map.get(key);
  if (entry) {
    entry.mwh += mwh;
    entry.femto += femto;
  } else map.set(key, { mwh, femto });
}

interface NanoRates {
  readonly energy: bigint;
  readonly gridFee: bigint;
  readonly excise: bigint;
  readonly feedIn: bigint;
  /** energy + grid fee + excise */
  readonly import: bigint;
}

class CentreSums {
  consumption = 0;
  grid = 0;
  femto = 0n;
  avoidedFemto = 0n;
  readonly byBand = new Map<string, { consumption: number; grid: number; femto: bigint }>();
}

interface FixedShare {
  readonly month: LocalMonth;
  /** Elapsed ms of the month in the bill, and the month's length. */
  readonly elapsed: number;
  readonly length: number;
}

const avgRate = (femto: bigint, mwh: number): number | undefined => (mwh === 0 ? undefined : Number(femto) / mwh / 1e9);

function buildLines(sums: LineSums, fixed: readonly FixedShare[], tariff: Tariff): { lines: BillLine[]; taxableCents: number; vatCents: number; creditCents: number; totalCents: number } {
  const lines: BillLine[] = [];
  const single = tariff.bands.bands.length === 1;
  for (const band of tariff.bands.bands) {
    const e = sums.energy.get(band);
    if (!e || (e.mwh === 0 && e.femto === 0n)) continue;
    lines.push({ kind: 'energy', label: single ? 'Energy' : `Energy ${band}`, ...(single ? {} : { band }), quantityMwh: e.mwh, ...optionalRate(e.femto, e.mwh), amountCents: toCents(e.femto) });
  }
  const byBand = tariff.gridFees.kind === 'time-of-use';
  for (const key of byBand ? tariff.bands.bands : ['']) {
    const fee = sums.fees.get(key);
    if (!fee || (fee.mwh === 0 && fee.femto === 0n)) continue;
    lines.push({ kind: 'grid-fee', label: byBand ? `Grid fees ${key}` : 'Grid fees', ...(byBand ? { band: key } : {}), quantityMwh: fee.mwh, ...optionalRate(fee.femto, fee.mwh), amountCents: toCents(fee.femto) });
  }
  if (sums.excise.mwh > 0 && tariff.excisePerKwh !== 0) {
    lines.push({ kind: 'excise', label: 'Excise', quantityMwh: sums.excise.mwh, ratePerKwh: tariff.excisePerKwh, amountCents: toCents(sums.excise.femto) });
  }
  if (tariff.fixedPerMonth !== 0) {
    const fee = femtoAmount(tariff.fixedPerMonth);
    for (const share of fixed) {
      if (share.elapsed <= 0) continue;
      const amount = roundDiv(fee * BigInt(share.elapsed), BigInt(share.length));
      lines.push({ kind: 'fixed-fee', label: share.elapsed === share.length ? `Fixed charges ${share.month}` : `Fixed charges ${share.month} (part)`, month: share.month, amountCents: toCents(amount) });
    }
  }
  const taxableCents = lines.reduce((sum, line) => sum + line.amountCents, 0);
  const vat = vatCents(taxableCents, vatPpm(tariff.vatPercent));
  if (tariff.vatPercent !== 0) lines.push({ kind: 'vat', label: `VAT ${tariff.vatPercent}%`, amountCents: vat });
  const creditCents = tariff.feedIn.kind === 'none' ? 0 : toCents(sums.feedIn.femto);
  if (tariff.feedIn.kind !== 'none' && sums.feedIn.mwh > 0) {
    lines.push({ kind: 'feed-in', label: 'Feed-in credit', quantityMwh: sums.feedIn.mwh, ...optionalRate(sums.feedIn.femto, sums.feedIn.mwh), amountCents: -creditCents });
  }
  return { lines, taxableCents, vatCents: vat, creditCents, totalCents: taxableCents + vat - creditCents };
}

function optionalRate(femto: bigint, mwh: number): { ratePerKwh?: number } {
  const rate = avgRate(femto, mwh);
  return rate === undefined ? {} : { ratePerKwh: rate };
}

/**
 * Shares `total` among `weights` in proportion, as integers that add up to `total`: each gets the
 * floor of its exact share, and the units left go to the largest remainders (ties: the larger
 * weight, then the earlier entry), so no mWh is lost or made up.
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  let sum = 0;
  let max = 0;
  for (const w of weights) {
    sum += w;
    if (w > max) max = w;
  }
  if (sum <= 0 || total <= 0) return weights.map(() => 0);
  if (total === sum) return weights.slice(); // the common slot: the grid supplied everything
  const floors: number[] = [];
  const remainders: number[] = [];
  if (total * max < Number.MAX_SAFE_INTEGER) {
    for (const w of weights) {
      const exact = total * w;
      let floor = Math.floor(exact / sum);
      let rem = exact - floor * sum; // exact: every term is a safe integer
      if (rem < 0) {
        floor--;
        rem += sum;
      } else if (rem >= sum) {
        floor++;
        rem -= sum;
      }
      floors.push(floor);
      remainders.push(rem);
    }
  } else {
    const T = BigInt(total);
    const S = BigInt(sum);
    for (const w of weights) {
      const exact = T * BigInt(w);
      floors.push(Number(exact / S));
      remainders.push(Number(exact % S)); // < sum, a safe integer
    }
  }
  let left = total;
  for (const f of floors) left -= f;
  if (left > 0) {
    const order = weights.map((_, i) => i).sort((a, b) => (remainders[b] ?? 0) - (remainders[a] ?? 0) || (weights[b] ?? 0) - (weights[a] ?? 0) || a - b);
    for (let k = 0; k < left; k++) {
      const i = order[k] ?? 0;
      floors[i] = (floors[i] ?? 0) + 1;
    }
  }
  return floors;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function checkInput(input: BillInput): Map<string, BillMeter> {
  const checked = validateTariff(input.tariff);
  if (!checked.ok) throw new BillingError(`The tariff is not valid: ${issuesMessage(checked.issues)}`);
  const meters = new Map<string, BillMeter>();
  for (const meter of input.meters) {
    if (meters.has(meter.id)) throw new BillingError(`Meter ${meter.id} is listed twice`);
    if (meter.id === UNMETERED_ID) throw new BillingError(`${UNMETERED_ID} is reserved for consumption no meter saw`);
    if (!(METER_ROLES as readonly string[]).includes(meter.role)) throw new BillingError(`Meter ${meter.id} has role ${String(meter.role)}; roles are ${METER_ROLES.join(', ')}`);
    meters.set(meter.id, meter);
  }
  const { start, end } = input.period;
  if (!(start < end) || start % SLOT_MS !== 0 || end % SLOT_MS !== 0) throw new BillingError('The billing period must be a non-empty range of whole slots');
  return meters;
}

/** The bill of `input.period` up to `input.now`. Throws BillingError on input that would lose or invent energy. */
export function computeBill(input: BillInput): Bill {
  const meters = checkInput(input);
  const { tariff, period } = input;
  const billedUntil = Math.min(period.end, Math.max(period.start, input.now ?? period.end));
  const spot = new Map<number, number>();
  for (const slot of input.spot ?? []) spot.set(slot.start, slot.price);

  // Energy by slot, then by meter; every record checked, none silently dropped inside the period.
  const bySlot = new Map<number, Map<string, { imp: number; exp: number }>>();
  for (const e of input.energy) {
    const meter = meters.get(e.meterId);
    if (!meter) throw new BillingError(`Energy for meter ${e.meterId}, which is not in the meter list`);
    if (!Number.isSafeInteger(e.start) || e.start % SLOT_MS !== 0) throw new BillingError(`Energy of ${e.meterId} starts at ${e.start}, not on a 15-minute slot`);
    if (!isCount(e.importMwh) || !isCount(e.exportMwh)) throw new BillingError(`Energy of ${e.meterId} at ${new Date(e.start).toISOString()} is not whole, non-negative mWh`);
    if (e.start < period.start || e.start >= billedUntil) continue;
    let slot = bySlot.get(e.start);
    if (!slot) bySlot.set(e.start, (slot = new Map()));
    if (slot.has(e.meterId)) throw new BillingError(`Two energy records for ${e.meterId} at ${new Date(e.start).toISOString()}`);
    slot.set(e.meterId, { imp: e.importMwh, exp: e.exportMwh });
  }

  const gridMeters = [...meters.values()].filter((m) => m.role === 'grid');
  const others = [...meters.values()].filter((m) => m.role !== 'grid');
  const hasGrid = gridMeters.length > 0;
  const ppm = vatPpm(tariff.vatPercent);
  const feeByBand = tariff.gridFees.kind === 'time-of-use';

  const periodSums = new LineSums();
  const monthSums = new Map<LocalMonth, LineSums>();
  const centres = new Map<string, CentreSums>();
  const days = new Map<LocalDate, { imp: number; exp: number; variable: bigint; feedIn: bigint; byCentre: Map<string, bigint> }>();
  const bandTotals = new Map<string, { consumption: number; grid: number; femto: bigint }>();
  const slotLines: SlotLine[] = [];
  let gridEstimatedSlots = 0;
  let fallbackSlots = 0;

  for (const start of [...bySlot.keys()].sort((a, b) => a - b)) {
    const records = bySlot.get(start) ?? new Map<string, { imp: number; exp: number }>();
    const t = localDateTime(start, tariff.timeZone);
    const date = formatLocalDate(t.year, t.month, t.day);
    const month = date.slice(0, 7);
    const band = bandAt(t, tariff.bands);
    const price = spot.get(start);
    const rates = slotRates(tariff, band, price);
    if (rates.energySource === 'fallback' || rates.feedInSource === 'fallback') fallbackSlots++;
    const energyN = nanoRate(rates.energy);
    const feeN = nanoRate(rates.gridFee);
    const exciseN = nanoRate(rates.excise);
    const n: NanoRates = { energy: energyN, gridFee: feeN, excise: exciseN, feedIn: nanoRate(rates.feedIn), import: energyN + feeN + exciseN };

    let consumed = 0;
    let supplied = 0;
    const consumers: { id: string; mwh: number }[] = [];
    for (const m of others) {
      const r = records.get(m.id);
      if (!r) continue;
      consumed += r.imp;
      supplied += r.exp;
      if (r.imp > 0) consumers.push({ id: m.id, mwh: r.imp });
    }
    const gridMeasured = hasGrid && gridMeters.every((m) => records.has(m.id));
    let G: number;
    let X: number;
    if (gridMeasured) {
      G = gridMeters.reduce((sum, m) => sum + (records.get(m.id)?.imp ?? 0), 0);
      X = gridMeters.reduce((sum, m) => sum + (records.get(m.id)?.exp ?? 0), 0);
      const unmetered = G - X + supplied - consumed;
      if (unmetered > 0) consumers.push({ id: UNMETERED_ID, mwh: unmetered });
    } else {
      if (hasGrid) gridEstimatedSlots++;
      G = Math.max(0, consumed - supplied);
      X = Math.max(0, supplied - consumed);
    }
    const totalConsumption = consumers.reduce((sum, c) => sum + c.mwh, 0);
    const allocated = Math.min(G, totalConsumption);
    const shares = allocate(allocated, consumers.map((c) => c.mwh));
    const slotCentres: { id: string; mwh: number; grid: number }[] = consumers.map((c, i) => ({ id: c.id, mwh: c.mwh, grid: shares[i] ?? 0 }));
    if (G > allocated) {
      // Imported but consumed by nobody metered (e.g. charged and re-exported within the slot).
      const rest = slotCentres.find((c) => c.id === UNMETERED_ID);
      if (rest) rest.grid += G - allocated;
      else slotCentres.push({ id: UNMETERED_ID, mwh: 0, grid: G - allocated });
    }

    const feeKey = feeByBand ? band : '';
    periodSums.add(band, feeKey, G, X, n);
    let ms = monthSums.get(month);
    if (!ms) monthSums.set(month, (ms = new LineSums()));
    ms.add(band, feeKey, G, X, n);

    let day = days.get(date);
    if (!day) days.set(date, (day = { imp: 0, exp: 0, variable: 0n, feedIn: 0n, byCentre: new Map() }));
    day.imp += G;
    day.exp += X;
    day.variable += BigInt(G) * n.import;
    day.feedIn += BigInt(X) * n.feedIn;

    const bt = bandTotals.get(band) ?? { consumption: 0, grid: 0, femto: 0n };
    bt.grid += G;
    bt.femto += BigInt(G) * n.import;
    bandTotals.set(band, bt);

    const lineCentres: SlotCentre[] = [];
    for (const c of slotCentres) {
      const femto = BigInt(c.grid) * n.import;
      const self = Math.max(0, c.mwh - c.grid);
      let sums = centres.get(c.id);
      if (!sums) centres.set(c.id, (sums = new CentreSums()));
      sums.consumption += c.mwh;
      sums.grid += c.grid;
      sums.femto += femto;
      sums.avoidedFemto += BigInt(self) * n.import;
      const b = sums.byBand.get(band) ?? { consumption: 0, grid: 0, femto: 0n };
      b.consumption += c.mwh;
      b.grid += c.grid;
      b.femto += femto;
      sums.byBand.set(band, b);
      bt.consumption += c.mwh;
      day.byCentre.set(c.id, (day.byCentre.get(c.id) ?? 0n) + femto);
      lineCentres.push({ id: c.id, consumptionMwh: c.mwh, gridMwh: c.grid, costMicros: micros(femto, ppm) });
    }
    slotLines.push({
      start, band, spot: price, rates, gridMeasured, importMwh: G, exportMwh: X,
      importMicros: micros(BigInt(G) * n.import, ppm),
      creditMicros: tariff.feedIn.kind === 'none' ? 0 : Number(roundDiv(BigInt(X) * n.feedIn, 1_000_000_000n)),
      centres: lineCentres,
    });
  }

  const fixedShares = (months: readonly LocalMonth[]): FixedShare[] =>
    months.map((month) => {
      const range = localMonthRange(month, tariff.timeZone);
      return { month, elapsed: Math.max(0, Math.min(billedUntil, range.end) - range.start), length: range.end - range.start };
    });
  const whole = buildLines(periodSums, fixedShares(period.months), tariff);

  const months: MonthTotal[] = period.months.map((month) => {
    const sums = monthSums.get(month) ?? new LineSums();
    const built = buildLines(sums, fixedShares([month]), tariff);
    return { month, importMwh: sums.importMwh, exportMwh: sums.exportMwh, lines: built.lines, totalCents: built.totalCents };
  });

  const names = new Map([...meters.values()].map((m) => [m.id, m] as const));
  const centreList: CostCentre[] = [...centres.entries()]
    .map(([id, s]) => {
      const meter = names.get(id);
      return {
        id,
        role: meter ? meter.role : ('unmetered' as const),
        name: meter?.name ?? (id === UNMETERED_ID ? 'Not metered' : id),
        consumptionMwh: s.consumption,
        gridMwh: s.grid,
        selfSuppliedMwh: Math.max(0, s.consumption - s.grid),
        costCents: grossCents(s.femto, ppm),
        avoidedCents: grossCents(s.avoidedFemto, ppm),
        byBand: tariff.bands.bands.filter((b) => s.byBand.has(b)).map((b) => {
          const v = s.byBand.get(b) ?? { consumption: 0, grid: 0, femto: 0n };
          return { band: b, consumptionMwh: v.consumption, gridMwh: v.grid, costCents: grossCents(v.femto, ppm) };
        }),
      };
    })
    .sort((a, b) => b.costCents - a.costCents || a.id.localeCompare(b.id));

  const variableFemto = periodSums.variableFemto();
  const variableCents = grossCents(variableFemto, ppm);
  const allocatedCents = centreList.reduce((sum, c) => sum + c.costCents, 0);

  const elapsed = billedUntil - period.start;
  let projection: Projection | null = null;
  if (elapsed > 0 && bySlot.size > 0) {
    const full = BigInt(period.end - period.start);
    const part = BigInt(elapsed);
    const fixedCents = tariff.fixedPerMonth === 0 ? 0 : period.months.length * toCents(femtoAmount(tariff.fixedPerMonth));
    const taxableCents = toCents(roundDiv(variableFemto * full, part)) + fixedCents;
    const vat = vatCents(taxableCents, ppm);
    const creditCents = tariff.feedIn.kind === 'none' ? 0 : toCents(roundDiv(periodSums.feedIn.femto * full, part));
    projection = { taxableCents, vatCents: vat, creditCents, totalCents: taxableCents + vat - creditCents };
  }

  return {
    currency: tariff.currency,
    period,
    billedUntil,
    complete: billedUntil === period.end,
    hasGridMeter: hasGrid,
    gridEstimatedSlots,
    energySlots: bySlot.size,
    fallbackSlots,
    lines: whole.lines,
    taxableCents: whole.taxableCents,
    vatCents: whole.vatCents,
    creditCents: whole.creditCents,
    totalCents: whole.totalCents,
    importMwh: periodSums.importMwh,
    exportMwh: periodSums.exportMwh,
    centres: centreList,
    bands: tariff.bands.bands.filter((b) => bandTotals.has(b)).map((b) => {
      const v = bandTotals.get(b) ?? { consumption: 0, grid: 0, femto: 0n };
      return { band: b, consumptionMwh: v.consumption, gridMwh: v.grid, costCents: grossCents(v.femto, ppm) };
    }),
    days: [...days.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([date, d]) => {
      const chargesCents = grossCents(d.variable, ppm);
      const creditCents = tariff.feedIn.kind === 'none' ? 0 : toCents(d.feedIn);
      const byCentre: Record<string, number> = {};
      for (const [id, femto] of d.byCentre) byCentre[id] = grossCents(femto, ppm);
      return { date, importMwh: d.imp, exportMwh: d.exp, chargesCents, creditCents, netCents: chargesCents - creditCents, byCentre };
    }),
    months,
    slots: slotLines,
    projection,
    reconciliation: { variableCents, allocatedCents, differenceCents: allocatedCents - variableCents },
  };
}

function micros(femto: bigint, ppm: bigint): number {
  return Number(roundDiv(femto * (1_000_000n + ppm), 1_000_000n * 1_000_000_000n));
}
