import { describe, expect, it } from 'vitest';
import { sitePower } from './site-power';

describe('sitePower', () => {
  it('balances loads against generation when no meter measures the grid', () => {
    const p = sitePower([
      { kind: 'load', gridPoint: false, watts: 2000, silent: false },
      { kind: 'load', gridPoint: false, watts: 300, silent: false },
      { kind: 'generator', gridPoint: false, watts: -1500, silent: false },
    ]);
    expect(p).toEqual({ consumption: 2300, generation: 1500, grid: 800, gridMeasured: false, silent: 0 });
  });

  it('takes the grid from its own meter, and leaves silent meters out', () => {
    const p = sitePower([
      { kind: 'load', gridPoint: true, watts: -420, silent: false },
      { kind: 'load', gridPoint: false, watts: 900, silent: false },
      { kind: 'generator', gridPoint: false, watts: -1400, silent: false },
      { kind: 'load', gridPoint: false, watts: 5000, silent: true },
    ]);
    expect(p).toEqual({ consumption: 900, generation: 1400, grid: -420, gridMeasured: true, silent: 1 });
  });
});
