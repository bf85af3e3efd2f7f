import { describe, expect, it } from 'vitest';
import { formatEnergy, formatPower } from './power';
import { formatDuration } from './duration';
import { moneyFormat, numberFormat } from './number';

describe('number formatters', () => {
  it('makes one formatter per locale and style, and reuses it', () => {
    expect(numberFormat('en', 2)).toBe(numberFormat('en', 2));
    expect(numberFormat('en', 2)).not.toBe(numberFormat('it', 2));
    expect(numberFormat('en', 2)).not.toBe(numberFormat('en', 1));
    expect(moneyFormat('it', 'EUR')).toBe(moneyFormat('it', 'EUR'));
    expect(moneyFormat('it', 'EUR')).not.toBe(moneyFormat('it', 'USD'));
  });

  it('formats with the locale and decimals asked for', () => {
    expect(numberFormat('en', 1).format(1234.56)).toBe('1,234.6');
    expect(numberFormat('it', 2).format(0.5)).toBe('0,50');
    expect(moneyFormat('en', 'EUR').format(3.5)).toBe('€3.50');
  });

  it('writes power, energy and durations with the shared formatters', () => {
    expect(formatPower(1234.4, 'en')).toBe('1,234 W');
    expect(formatPower(-12_345, 'it')).toBe('-12,3 kW');
    expect(formatEnergy(12_345, 'en')).toBe('12.35 kWh');
    expect(formatEnergy(2_500_000, 'it')).toBe('2,500 MWh');
    expect(formatDuration(45, 'en')).toBe('45 s');
  });
});
