/**
 * Exact money. Energy is integer mWh, unit rates are taken to 1e-9 currency per kWh (far below
 * any published precision: markets quote 0.01 EUR/MWh = 1e-5 EUR/kWh), so energy × rate is an
 * integer in 1e-15 currency ("femto") and sums of them are exact in BigInt. Rounding happens once,
 * to the cent, half away from zero, where a bill shows an amount.
 */

/** 1e-15 currency per cent. */
export const FEMTO_PER_CENT = 10n ** 13n;
/** mWh × nano-currency/kWh = 1e-6 kWh × 1e-9 currency/kWh = femto-currency. */
const NANO_PER_UNIT = 1e9;

/** A rate in currency per kWh as an integer number of 1e-9 currency per kWh. */
export function nanoRate(perKwh: number): bigint {
  if (!Number.isFinite(perKwh)) throw new RangeError(`rate ${perKwh} is not finite`);
  return BigInt(Math.round(perKwh * NANO_PER_UNIT));
}

/** An amount of currency as femto-currency (monthly fees and the like). */
export function femtoAmount(amount: number): bigint {
  return nanoRate(amount) * 1_000_000n;
}

/** `n / d` rounded to an integer, halves away from zero. `d` > 0. */
export function roundDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice >= d) return n < 0n ? q - 1n : q + 1n;
  return q;
}

/** Femto-currency to whole cents, halves away from zero. */
export function toCents(femto: bigint): number {
  return Number(roundDiv(femto, FEMTO_PER_CENT));
}

/** VAT in parts per million of the net amount: 10 % → 100 000. */
export function vatPpm(vatPercent: number): bigint {
  return BigInt(Math.round(vatPercent * 10_000));
}

/** A net femto amount with VAT added, still exact (scaled by 1e6). Divide by 1e6 × FEMTO_PER_CENT to get cents. */
export function grossCents(femto: bigint, ppm: bigint): number {
  return Number(roundDiv(femto * (1_000_000n + ppm), 1_000_000n * FEMTO_PER_CENT));
}

/** VAT on a taxable amount in cents, rounded to the cent. */
export function vatCents(taxableCents: number, ppm: bigint): number {
  return Number(roundDiv(BigInt(taxableCents) * ppm, 1_000_000n));
}

/** Cents as a decimal string, `-12.05`: exact, for CSV and tests. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** mWh as kWh with six decimals, exact. */
export function formatKwh(mwh: number): string {
  const sign = mwh < 0 ? '-' : '';
  const abs = Math.abs(mwh);
  return `${sign}${Math.floor(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, '0')}`;
}
