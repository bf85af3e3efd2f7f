/**
 * The bill worked out by the tests themselves, independently of src/lib/tariff: no grid meter, so
 * the site's import in a slot is what the loads drew, each load paying its own energy at the slot's
 * all-in price, every amount exact (integers of 10⁻¹⁵ currency) until each line is rounded.
 */

export interface LedgerSlot {
  readonly uid: string;
  readonly start: number;
  readonly importMwh: number;
}

/** A spot-indexed tariff: per-kWh spread, fallback when the spot price is unknown, fees, excise, VAT. */
export interface TestTariff {
  readonly markup: number;
  readonly fallback: number;
  readonly gridFee: number;
  readonly excise: number;
  readonly vatPercent: number;
}

/** Currency per kWh as integer nano-units per kWh. */
const nano = (perKwh: number): bigint => BigInt(Math.round(perKwh * 1e9));

/** Half away from zero, as bills round. */
export function roundDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  return 2n * (r < 0n ? -r : r) >= d ? (n < 0n ? q - 1n : q + 1n) : q;
}
const FEMTO_PER_CENT = 10n ** 13n;

/** `spotPerKwh`: the slot's market price in currency per kWh, undefined when unknown. */
export function expectedBill(slots: readonly LedgerSlot[], spotPerKwh: (start: number) => number | undefined, tariff: TestTariff) {
  const markup = nano(tariff.markup);
  const fee = nano(tariff.gridFee);
  const excise = nano(tariff.excise);
  let energy = 0n;
  let fees = 0n;
  let exc = 0n;
  let importMwh = 0;
  const perMeter = new Map<string, bigint>();
  const slotCost = new Map<string, bigint>();
  for (const s of slots) {
    const price = spotPerKwh(s.start);
    const energyRate = price === undefined ? nano(tariff.fallback) : nano(price) + markup;
    const g = BigInt(s.importMwh);
    energy += g * energyRate;
    fees += g * fee;
    exc += g * excise;
    importMwh += s.importMwh;
    const femto = g * (energyRate + fee + excise);
    perMeter.set(s.uid, (perMeter.get(s.uid) ?? 0n) + femto);
    slotCost.set(`${s.start}|${s.uid}`, roundDiv(femto * BigInt(100 + tariff.vatPercent), 100n * 1_000_000_000n));
  }
  const cents = (f: bigint) => Number(roundDiv(f, FEMTO_PER_CENT));
  const lines = { energy: cents(energy), grid: cents(fees), excise: cents(exc) };
  const taxable = lines.energy + lines.grid + lines.excise;
  const vat = Number(roundDiv(BigInt(taxable) * BigInt(tariff.vatPercent), 100n));
  const byMeter = new Map([...perMeter].map(([uid, f]) => [uid, Number(roundDiv(f * BigInt(100 + tariff.vatPercent), 100n * FEMTO_PER_CENT))]));
  return { lines, vat, total: taxable + vat, importMwh, byMeter, slotCost };
}
