import { describe, expect, it } from 'vitest';
import {
  coalescingLastFvStore,
  CorruptStoreError,
  CounterExhaustedError,
  type CounterStore,
  type KeyValueStorage,
  localStorageCounterStore,
  localStorageLastFvStore,
  memoryCounterStore,
  memoryLastFvStore,
  ReceiverFreshness,
  RESERVATION_BLOCK,
  SenderCounter,
} from './freshness';

const MAX = 0xffffffff;

function fakeStorage(): KeyValueStorage & { readonly map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (key) => map.get(key) ?? null, setItem: (key, value) => void map.set(key, value) };
}

async function take(counter: SenderCounter, count: number): Promise<number[]> {
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(await counter.next());
  return values;
}

describe('SenderCounter', () => {
  it('starts at 1 and persists the block end before using its first value', async () => {
    const store = memoryCounterStore();
    const counter = await SenderCounter.open(store);
    expect(counter.upcoming).toBe(1);
    expect(await counter.next()).toBe(1);
    expect(store.saved).toEqual([256]);
    const values = await take(counter, 300);
    expect(values[0]).toBe(2);
    expect(values.at(-1)).toBe(301);
    expect(store.saved).toEqual([256, 512]);
  });

  it('hands out strictly increasing values to concurrent callers', async () => {
    const counter = await SenderCounter.open(memoryCounterStore());
    const values = await Promise.all(Array.from({ length: 600 }, () => counter.next()));
    expect(values).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
  });

  it('after a restart continues past the reservation, never reusing a value', async () => {
    const store = memoryCounterStore();
    const first = await SenderCounter.open(store);
    const before = await take(first, 10);
    const second = await SenderCounter.open(store); // the same store, as after a power cut
    const after = await take(second, 300);
    expect(after[0]).toBe(RESERVATION_BLOCK + 1);
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...before));
    const third = await SenderCounter.open(store);
    expect(await third.next()).toBe(3 * RESERVATION_BLOCK + 1);
  });

  it('uses no value whose reservation failed to persist', async () => {
    let fail = true;
    const inner = memoryCounterStore();
    const store: CounterStore = { load: () => inner.load(), save: (end) => (fail ? Promise.reject(new Error('disk full')) : inner.save(end)) };
    const counter = await SenderCounter.open(store);
    await expect(counter.next()).rejects.toThrow('disk full');
    fail = false;
    expect(await counter.next()).toBe(1);
    expect(inner.saved).toEqual([256]);
  });

  it('near the wrap: the last block ends at 0xFFFFFFFF, which is used, then it refuses', async () => {
    const store = memoryCounterStore(MAX - 300);
    const counter = await SenderCounter.open(store);
    const values = await take(counter, 300);
    expect(values[0]).toBe(MAX - 299);
    expect(values.at(-1)).toBe(MAX);
    expect(store.saved).toEqual([MAX - 44, MAX]);
    expect(counter.exhausted).toBe(true);
    await expect(counter.next()).rejects.toBeInstanceOf(CounterExhaustedError);
    await expect(counter.next()).rejects.toBeInstanceOf(CounterExhaustedError);
  });

  it('stays exhausted after a restart', async () => {
    const store = memoryCounterStore(MAX);
    const counter = await SenderCounter.open(store);
    expect(counter.exhausted).toBe(true);
    await expect(counter.next()).rejects.toBeInstanceOf(CounterExhaustedError);
    expect(store.saved).toEqual([]);
  });

  it('refuses a corrupt store rather than starting again at 1', async () => {
    for (const bad of [-1, 1.5, MAX + 1, Number.NaN]) {
      await expect(SenderCounter.open(memoryCounterStore(bad))).rejects.toBeInstanceOf(CorruptStoreError);
    }
  });

  it('persists through localStorage', async () => {
    const storage = fakeStorage();
    const counter = await SenderCounter.open(localStorageCounterStore('fv.out', storage));
    await take(counter, 3);
    expect(storage.map.get('fv.out')).toBe('256');
    const again = await SenderCounter.open(localStorageCounterStore('fv.out', storage));
    expect(await again.next()).toBe(257);
    storage.setItem('fv.out', 'garbage');
    await expect(SenderCounter.open(localStorageCounterStore('fv.out', storage))).rejects.toBeInstanceOf(CorruptStoreError);
  });
});

describe('ReceiverFreshness', () => {
  it('accepts only values above the last accepted one, per sender', async () => {
    const store = memoryLastFvStore();
    const freshness = await ReceiverFreshness.open(store);
    expect(freshness.lastAccepted('a')).toBe(0);
    expect(freshness.isFresh('a', 0)).toBe(false);
    expect(freshness.accept('a', 5)).toBe(true);
    expect(freshness.accept('a', 5)).toBe(false);
    expect(freshness.accept('a', 4)).toBe(false);
    expect(freshness.accept('b', 1)).toBe(true);
    expect(freshness.accept('a', MAX)).toBe(true);
    expect(freshness.accept('a', MAX + 1)).toBe(false);
    await freshness.flush();
    expect([...store.values]).toEqual([
      ['a', MAX],
      ['b', 1],
    ]);
  });

  it('remembers across a restart, so a replay stays stale', async () => {
    const storage = fakeStorage();
    const first = await ReceiverFreshness.open(localStorageLastFvStore('fv.in', storage));
    first.accept('3a00', 700);
    await first.flush();
    const second = await ReceiverFreshness.open(localStorageLastFvStore('fv.in', storage));
    expect(second.lastAccepted('3a00')).toBe(700);
    expect(second.isFresh('3a00', 700)).toBe(false);
  });

  it('reports a failed save through flush() and the callback', async () => {
    const errors: unknown[] = [];
    const freshness = await ReceiverFreshness.open(
      { load: () => Promise.resolve(new Map()), save: () => Promise.reject(new Error('quota')) },
      { onPersistError: (error) => errors.push(error) },
    );
    freshness.accept('a', 1);
    await expect(freshness.flush()).rejects.toThrow('quota');
    expect(errors).toHaveLength(1);
    expect(freshness.lastAccepted('a')).toBe(1);
  });

  it('refuses a corrupt store', async () => {
    await expect(ReceiverFreshness.open(memoryLastFvStore([['a', -1]]))).rejects.toBeInstanceOf(CorruptStoreError);
    const storage = fakeStorage();
    storage.setItem('fv.in', '[1]');
    await expect(ReceiverFreshness.open(localStorageLastFvStore('fv.in', storage))).rejects.toBeInstanceOf(CorruptStoreError);
    storage.setItem('fv.in', '{"a": "7"}');
    await expect(ReceiverFreshness.open(localStorageLastFvStore('fv.in', storage))).rejects.toBeInstanceOf(CorruptStoreError);
    storage.setItem('fv.in', '{');
    await expect(ReceiverFreshness.open(localStorageLastFvStore('fv.in', storage))).rejects.toBeInstanceOf(CorruptStoreError);
  });
});

describe('coalescingLastFvStore', () => {
  it('writes each sender’s newest FV once per period, and loses none', async () => {
    const inner = memoryLastFvStore();
    const fire: (() => void)[] = [];
    const store = coalescingLastFvStore(inner, 1000, { set: (fn) => fire.push(fn) });
    const first = store.save('a', 5);
    void store.save('b', 9);
    const third = store.save('a', 7);
    expect(fire).toHaveLength(1);
    expect(inner.values.size).toBe(0);
    fire[0]?.();
    await Promise.all([first, third]);
    expect([...inner.values]).toEqual([
      ['a', 7],
      ['b', 9],
    ]);
    const later = store.save('a', 8);
    expect(fire).toHaveLength(2);
    fire[1]?.();
    await later;
    expect(inner.values.get('a')).toBe(8);
  });
});
