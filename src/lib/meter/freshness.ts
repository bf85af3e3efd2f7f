/**
 * Freshness values (docs/protocol.md §3 "Freshness"). The sender side hands out 1, 2, … and never
 * repeats a value across restarts: before it uses the first value of a block of 256 it persists the
 * block's end, and after a restart it continues past the persisted end. The receiver side remembers
 * the last FV it accepted from each sender.
 */
import { MAX_FV } from './secure';

export const RESERVATION_BLOCK = 256;

/** Persists the sender's reservation: the highest FV it may use before persisting again. */
export interface CounterStore {
  load(): Promise<number | undefined>;
  save(reservedEnd: number): Promise<void>;
}

/** Persists the last FV accepted from each sender. */
export interface LastFvStore {
  load(): Promise<ReadonlyMap<string, number>>;
  save(sender: string, fv: number): Promise<void>;
}

/** The part of Web Storage the stores use; `localStorage` fits, and so does a test double. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export class CounterExhaustedError extends Error {
  override readonly name = 'CounterExhaustedError';
}

export class CorruptStoreError extends Error {
  override readonly name = 'CorruptStoreError';
}

function isFv(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_FV;
}

/** The sender's counter. Calls to next() are served in order, so values come out strictly increasing. */
export class SenderCounter {
  readonly #store: CounterStore;
  #reservedEnd: number;
  #next: number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(store: CounterStore, reservedEnd: number) {
    this.#store = store;
    this.#reservedEnd = reservedEnd;
    // Values up to the persisted end may have been used before the restart: skip them all.
    this.#next = reservedEnd + 1;
  }

  /** Loads the reservation; throws CorruptStoreError if the store holds something that is not a u32. */
  static async open(store: CounterStore): Promise<SenderCounter> {
    const reservedEnd = await store.load();
    if (reservedEnd !== undefined && !isFv(reservedEnd)) {
      throw new CorruptStoreError(`the stored counter reservation ${String(reservedEnd)} is not a u32`);
    }
    return new SenderCounter(store, reservedEnd ?? 0);
  }

  /** The value the next call to next() returns (if it is not past 0xFFFFFFFF). */
  get upcoming(): number {
    return this.#next;
  }

  get reservedEnd(): number {
    return this.#reservedEnd;
  }

  /** True once 0xFFFFFFFF has been used: nothing secured may be sent until re-provisioning. */
  get exhausted(): boolean {
    return this.#next > MAX_FV;
  }

  /**
   * The next freshness value. Rejects with CounterExhaustedError past 0xFFFFFFFF, or with the
   * store's error if a reservation could not be persisted (then no value is used up).
   */
  next(): Promise<number> {
    const value = this.#queue.then(() => this.#take());
    this.#queue = value.catch(() => undefined);
    return value;
  }

  async #take(): Promise<number> {
    if (this.#next > MAX_FV) throw new CounterExhaustedError('the freshness counter reached 0xFFFFFFFF: re-provision with a new key');
    if (this.#next > this.#reservedEnd) {
      const end = Math.min(this.#reservedEnd + RESERVATION_BLOCK, MAX_FV);
      await this.#store.save(end);
      this.#reservedEnd = end;
    }
    return this.#next++;
  }
}

export interface ReceiverFreshnessOptions {
  /** Called when persisting an accepted FV fails; flush() also rejects with it. */
  readonly onPersistError?: (error: unknown) => void;
}

/**
 * The last FV accepted from each sender (for the aggregator: each meter, keyed by its uid). Checks
 * and updates are synchronous; saving runs behind, in order, and flush() waits for it.
 */
export class ReceiverFreshness {
  readonly #store: LastFvStore;
  readonly #last: Map<string, number>;
  readonly #onPersistError: ((error: unknown) => void) | undefined;
  #saving: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;

  private constructor(store: LastFvStore, last: Map<string, number>, options: ReceiverFreshnessOptions) {
    this.#store = store;
    this.#last = last;
    this.#onPersistError = options.onPersistError;
  }

  /** Loads every sender's last FV; throws CorruptStoreError for a value that is not a u32. */
  static async open(store: LastFvStore, options: ReceiverFreshnessOptions = {}): Promise<ReceiverFreshness> {
    const loaded = await store.load();
    const last = new Map<string, number>();
    for (const [sender, fv] of loaded) {
      if (!isFv(fv)) throw new CorruptStoreError(`the stored FV ${String(fv)} of ${sender} is not a u32`);
      last.set(sender, fv);
    }
    return new ReceiverFreshness(store, last, options);
  }

  /** 0 when nothing was accepted yet: every real FV is above it. */
  lastAccepted(sender: string): number {
    return this.#last.get(sender) ?? 0;
  }

  isFresh(sender: string, fv: number): boolean {
    return fv > this.lastAccepted(sender);
  }

  /**
   * Records `fv` as accepted from `sender`. Call only after the MAC verified. Returns false and
   * changes nothing if `fv` is not above the last accepted value.
   */
  accept(sender: string, fv: number): boolean {
    if (!isFv(fv) || !this.isFresh(sender, fv)) return false;
    this.#last.set(sender, fv);
    this.#saving = this.#saving.then(async () => {
      try {
        await this.#store.save(sender, fv);
      } catch (error) {
        this.#failure ??= { error };
        this.#onPersistError?.(error);
      }
    });
    return true;
  }

  /** Waits for every save so far; rejects with the first one that failed. */
  async flush(): Promise<void> {
    await this.#saving;
    if (this.#failure) throw this.#failure.error;
  }
}

// ---------------------------------------------------------------------------------------------
// Stores

export function memoryCounterStore(initial?: number): CounterStore & { readonly saved: readonly number[] } {
  let value = initial;
  const saved: number[] = [];
  return {
    saved,
    load: () => Promise.resolve(value),
    save: (reservedEnd) => {
      value = reservedEnd;
      saved.push(reservedEnd);
      return Promise.resolve();
    },
  };
}

export function memoryLastFvStore(initial: Iterable<readonly [string, number]> = []): LastFvStore & { readonly values: ReadonlyMap<string, number> } {
  const values = new Map<string, number>(initial);
  return {
    values,
    load: () => Promise.resolve(new Map(values)),
    save: (sender, fv) => {
      values.set(sender, fv);
      return Promise.resolve();
    },
  };
}

function defaultStorage(): KeyValueStorage {
  const storage = (globalThis as { localStorage?: KeyValueStorage }).localStorage;
  if (!storage) throw new Error('localStorage is not available here');
  return storage;
}

/** The counter's reservation under one localStorage key, as decimal text. */
export function localStorageCounterStore(key: string, storage: KeyValueStorage = defaultStorage()): CounterStore {
  return {
    load: () => {
      const text = storage.getItem(key);
      if (text === null) return Promise.resolve(undefined);
      const value = Number(text);
      // A corrupt entry must not silently restart the counter at 1: open() refuses it.
      return Promise.resolve(/^\d+$/.test(text) ? value : Number.NaN);
    },
    save: (reservedEnd) => {
      storage.setItem(key, String(reservedEnd));
      return Promise.resolve();
    },
  };
}

/** Every sender's last FV under one localStorage key, as a JSON object. */
export function localStorageLastFvStore(key: string, storage: KeyValueStorage = defaultStorage()): LastFvStore {
  const read = (): Record<string, unknown> => {
    const text = storage.getItem(key);
    if (text === null) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CorruptStoreError(`${key} does not hold JSON`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CorruptStoreError(`${key} does not hold an object`);
    return parsed as Record<string, unknown>;
  };
  return {
    load: async () => {
      const entries = Object.entries(read());
      for (const [sender, fv] of entries) {
        if (!isFv(fv)) throw new CorruptStoreError(`the stored FV ${String(fv)} of ${sender} is not a u32`);
      }
      return new Map(entries as [string, number][]);
    },
    save: async (sender, fv) => {
      const all = read();
      all[sender] = fv;
      storage.setItem(key, JSON.stringify(all));
    },
  };
}

/**
 * Writes the last FV of each sender at most once per `delayMs`, all senders in one write. The app
 * accepts dozens of records a second; writing Web Storage (synchronous, on the main thread) for
 * each one costs the screen its smoothness. The price: after a crash, records from the last
 * `delayMs` before it could be replayed once; they are authentic readings at most that old, and
 * they can change nothing (commands are the meters' side, which persists every FV).
 */
export function coalescingLastFvStore(inner: LastFvStore, delayMs: number, timers: { set: (fn: () => void, ms: number) => unknown } = { set: (fn, ms) => setTimeout(fn, ms) }): LastFvStore {
  const pending = new Map<string, number>();
  let written: Promise<void> | undefined;
  return {
    load: () => inner.load(),
    save: (sender, fv) => {
      pending.set(sender, Math.max(fv, pending.get(sender) ?? 0));
      written ??= new Promise<void>((resolve, reject) => {
        timers.set(() => {
          const batch = [...pending];
          pending.clear();
          written = undefined;
          batch.reduce((p, [s, v]) => p.then(() => inner.save(s, v)), Promise.resolve()).then(resolve, reject);
        }, delayMs);
      });
      return written;
    },
  };
}
