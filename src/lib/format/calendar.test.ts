import { describe, expect, it } from 'vitest';
import { addLocal, startOfLocal } from './calendar';

describe('local calendar periods', () => {
  // Tests run with the machine's zone; the periods must hold in any zone.
  const wed = new Date(2026, 11, 2, 15, 42, 7).getTime(); // Wednesday 2 December 2026

  it('finds the start of the hour, day, ISO week, month and year', () => {
    expect(new Date(startOfLocal(wed, 'hour'))).toEqual(new Date(2026, 11, 2, 15));
    expect(new Date(startOfLocal(wed, 'day'))).toEqual(new Date(2026, 11, 2));
    expect(new Date(startOfLocal(wed, 'week'))).toEqual(new Date(2026, 10, 30)); // Monday 30 November
    expect(new Date(startOfLocal(new Date(2026, 10, 29, 9).getTime(), 'week'))).toEqual(new Date(2026, 10, 23)); // a Sunday
    expect(new Date(startOfLocal(wed, 'month'))).toEqual(new Date(2026, 11, 1));
    expect(new Date(startOfLocal(wed, 'year'))).toEqual(new Date(2026, 0, 1));
  });

  it('moves by whole local units', () => {
    expect(new Date(addLocal(startOfLocal(wed, 'month'), 'month', 1))).toEqual(new Date(2027, 0, 1));
    expect(new Date(addLocal(startOfLocal(wed, 'day'), 'day', -2))).toEqual(new Date(2026, 10, 30));
    expect(new Date(addLocal(startOfLocal(wed, 'week'), 'week', 1))).toEqual(new Date(2026, 11, 7));
  });
});
