import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openPriceStore } from './price-store';
import { SLOT_MS } from './slot';

const T0 = Date.UTC(2025, 9, 13, 22);
const slot = (i: number, price: number) => ({ start: T0 + i * SLOT_MS, end: T0 + (i + 1) * SLOT_MS, price });
let n = 0;
const freshName = (): string => `wattwall-prices-test-${++n}`;

describe('the price cache', () => {
  it('keeps slots per source across a reopen, in order, within the asked range', async () => {
    const name = freshName();
    const store = await openPriceStore(name);
    await store.put('energy-charts:IT-North', [slot(2, 0.12), slot(0, 0.1), slot(1, 0.11)], 1);
    await store.put('awattar:DE', [slot(1, 0.5)], 1);
    store.close();
    const again = await openPriceStore(name);
    expect(await again.get('energy-charts:IT-North', T0, T0 + 3 * SLOT_MS)).toEqual([slot(0, 0.1), slot(1, 0.11), slot(2, 0.12)]);
    expect(await again.get('energy-charts:IT-North', T0 + SLOT_MS, T0 + 2 * SLOT_MS)).toEqual([slot(1, 0.11)]);
    expect(await again.get('awattar:DE', T0, T0 + 3 * SLOT_MS)).toEqual([slot(1, 0.5)]);
    expect(await again.get('nord-pool:SE3:EUR', T0, T0 + 3 * SLOT_MS)).toEqual([]);
    again.close();
  });

  it('replaces a slot with a newer price and remembers the source state', async () => {
    const store = await openPriceStore(freshName());
    await store.put('s', [slot(0, 0.1)], 1);
    await store.put('s', [slot(0, 0.2)], 2);
    expect(await store.get('s', T0, T0 + SLOT_MS)).toEqual([slot(0, 0.2)]);
    await store.putMeta({ source: 's', lastSuccessAt: 5, lastError: { kind: 'network', message: 'offline', at: 6 } });
    expect(await store.getMeta('s')).toEqual({ source: 's', lastSuccessAt: 5, lastError: { kind: 'network', message: 'offline', at: 6 } });
    expect(await store.prune('s', T0 + SLOT_MS)).toBe(1);
    expect(await store.get('s', T0, T0 + SLOT_MS)).toEqual([]);
    store.close();
  });

  it('writes nothing when one slot of a batch is off the grid', async () => {
    const store = await openPriceStore(freshName());
    await expect(store.put('s', [slot(0, 0.1), { start: T0 + 60_000, end: T0 + 60_000 + SLOT_MS, price: 1 }], 1)).rejects.toThrow(/not a price slot/);
    await expect(store.put('s', [slot(0, Number.NaN)], 1)).rejects.toThrow(/not a price slot/);
    expect(await store.get('s', T0, T0 + 4 * SLOT_MS)).toEqual([]);
    store.close();
  });
});
