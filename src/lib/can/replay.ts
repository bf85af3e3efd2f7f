/**
 * A candump capture as a CanTransport: its frames come up as if from the bus, with their recorded
 * times, so a capture from the field is examined in the bus monitor by the same code as live
 * traffic. Error frames in the log come up as bus states and bus errors. A replay sends nothing.
 */
import type { CandumpEntry } from './candump';
import type { CanFrame } from './frame';
import type { CanTransport, TransportEvent } from './transport';

export interface ReplayOptions {
  /** 'instant': as fast as the page takes it; a number: that many times real time. */
  readonly speed?: 'instant' | number;
  readonly label?: string;
  /** Entries per batch in instant mode, between which the page gets to breathe. */
  readonly batch?: number;
  readonly timers?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
}

const defaultTimers = {
  setTimeout: (fn: () => void, ms: number): unknown => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

export function replayTransport(entries: readonly CandumpEntry[], options: ReplayOptions = {}): CanTransport {
  const timers = options.timers ?? defaultTimers;
  const speed = options.speed ?? 'instant';
  const batch = options.batch ?? 500;
  const sorted = [...entries].sort((a, b) => a.timeUs - b.timeUs);
  const t0 = sorted[0]?.timeUs ?? 0;
  let controller!: ReadableStreamDefaultController<TransportEvent>;
  let timer: unknown;
  let index = 0;
  let done = false;

  const events = (entry: CandumpEntry): TransportEvent[] => {
    const atMs = entry.timeUs / 1000;
    if (entry.kind === 'frame') {
      return [{ type: 'frame', frame: entry.frame, receivedAt: atMs, deviceTimeUs: entry.timeUs - t0, ...(entry.direction === 'tx' ? { direction: 'tx' as const } : {}) }];
    }
    const out: TransportEvent[] = entry.error.kinds.map((kind) => ({ type: 'bus-error', kind, detail: entry.error.description, at: atMs }));
    if (entry.error.state) {
      out.push({
        type: 'bus-state',
        state: entry.error.state,
        at: atMs,
        ...(entry.error.txErrors !== undefined ? { txErrors: entry.error.txErrors } : {}),
        ...(entry.error.rxErrors !== undefined ? { rxErrors: entry.error.rxErrors } : {}),
      });
    }
    return out;
  };

  const finish = (detail: string) => {
    if (done) return;
    done = true;
    if (timer !== undefined) timers.clearTimeout(timer);
    try {
      controller.enqueue({ type: 'status', status: 'disconnected', reason: 'user', detail });
      controller.close();
    } catch {
      // cancelled
    }
  };

  const step = () => {
    timer = undefined;
    if (done) return;
    if (speed === 'instant') {
      const end = Math.min(sorted.length, index + batch);
      for (; index < end; index++) for (const e of events(sorted[index] as CandumpEntry)) controller.enqueue(e);
    } else {
      const current = sorted[index] as CandumpEntry;
      for (const e of events(current)) controller.enqueue(e);
      index++;
    }
    if (index >= sorted.length) return finish('end of the capture');
    const next = sorted[index] as CandumpEntry;
    const delay = speed === 'instant' ? 0 : (next.timeUs - (sorted[index - 1] as CandumpEntry).timeUs) / 1000 / speed;
    timer = timers.setTimeout(step, delay);
  };

  const fromBus = new ReadableStream<TransportEvent>({
    start(c) {
      controller = c;
      c.enqueue({ type: 'status', status: 'connecting' });
      c.enqueue({ type: 'status', status: 'connected', detail: `replaying ${sorted.length} entries` });
      if (sorted.length === 0) finish('the capture is empty');
      else timer = timers.setTimeout(step, 0);
    },
    cancel() {
      done = true;
      if (timer !== undefined) timers.clearTimeout(timer);
    },
  });
  const toBus = new WritableStream<CanFrame>({
    write() {
      throw new Error('a replayed capture does not transmit');
    },
  });
  return {
    label: options.label ?? 'candump capture',
    fromBus,
    toBus,
    close: async () => finish('closed'),
  };
}
