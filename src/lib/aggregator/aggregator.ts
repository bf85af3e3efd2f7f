/**
 * The bus master: owns one transport, discovers meters, polls them, and reports what it learns.
 * No Svelte here: the screens watch it through src/state.
 *
 * Requests are pipelined: every remote frame of a cycle is handed to the adapter at once, so the
 * cycle is bounded by the bus, not by waiting on each reply.
 */
import type { CanTransport, LinkStatus, TransportEvent } from '../can/transport';
import type { CanFrame } from '../can/frame';
import { errorMessage } from '../errors';
import { activePowerRequest, decodePowerReply, MAX_NODE_ID } from '../meter/protocol';

export interface MeterReading {
  readonly node: number;
  readonly watts: number;
  /** Wall-clock time of arrival, ms since the epoch. */
  readonly at: number;
  /** From handing the request to the adapter to the reply's arrival, ms. */
  readonly latencyMs: number;
}

export interface MeterPresence {
  readonly node: number;
  /** Consecutive polls without a reply. */
  readonly missed: number;
  readonly silent: boolean;
}

export interface AggregatorListener {
  link?(status: LinkStatus, detail?: string): void;
  reading?(reading: MeterReading): void;
  presence?(presence: MeterPresence): void;
  warning?(message: string): void;
}

export interface Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface AggregatorOptions {
  /** Poll period, ms. */
  readonly intervalMs?: number;
  /** Every this many cycles, also ask the node ids nobody answered on, to find new meters. */
  readonly rescanEveryCycles?: number;
  /** Polls without a reply before a meter is called silent. */
  readonly silentAfterMissed?: number;
  readonly now?: () => number;
  readonly timers?: Timers;
}

const defaultTimers: Timers = {
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (handle) => globalThis.clearInterval(handle as ReturnType<typeof globalThis.setInterval>),
};

const INITIAL_SWEEPS = 5;

interface NodeState {
  requestedAt: number | undefined;
  missed: number;
}

export class Aggregator {
  readonly #transport: CanTransport;
  readonly #intervalMs: number;
  readonly #rescanEvery: number;
  readonly #silentAfter: number;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #listeners = new Set<AggregatorListener>();
  readonly #known = new Map<number, NodeState>();
  #writer: WritableStreamDefaultWriter<CanFrame> | undefined;
  #timer: unknown;
  #cycle = 0;
  #reading: Promise<void> | undefined;
  #stopped = false;

  constructor(transport: CanTransport, options: AggregatorOptions = {}) {
    this.#transport = transport;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#rescanEvery = options.rescanEveryCycles ?? 10;
    this.#silentAfter = options.silentAfterMissed ?? 3;
    this.#now = options.now ?? (() => Date.now());
    this.#timers = options.timers ?? defaultTimers;
  }

  get label(): string {
    return this.#transport.label;
  }

  /** Node ids that have answered at least once. */
  get meters(): number[] {
    return [...this.#known.keys()].sort((a, b) => a - b);
  }

  subscribe(listener: AggregatorListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#writer || this.#stopped) return;
    this.#writer = this.#transport.toBus.getWriter();
    this.#reading = this.#consume();
    this.#poll();
    this.#timer = this.#timers.setInterval(() => this.#poll(), this.#intervalMs);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#timers.clearInterval(this.#timer);
    this.#writer?.releaseLock();
    await this.#transport.close();
    await this.#reading;
  }

  #poll(): void {
    // Meters need a moment after power-up before they have a value to report, so the first few
    // cycles sweep every id; after that a sweep every few cycles finds meters added later.
    const discovering = this.#cycle < INITIAL_SWEEPS || this.#cycle % this.#rescanEvery === 0;
    this.#cycle++;
    const now = this.#now();
    for (let node = 1; node <= MAX_NODE_ID; node++) {
      const state = this.#known.get(node);
      if (state) {
        if (state.requestedAt !== undefined) this.#missed(node, state);
        state.requestedAt = now;
      } else if (!discovering) {
        continue;
      }
      this.#send(activePowerRequest(node));
    }
    if (discovering) this.#discoveryStartedAt = now;
  }

  /** When the last discovery sweep went out: replies from unknown nodes are timed against it. */
  #discoveryStartedAt = 0;

  #missed(node: number, state: NodeState): void {
    state.missed++;
    this.#emit((l) => l.presence?.({ node, missed: state.missed, silent: state.missed >= this.#silentAfter }));
  }

  #send(frame: CanFrame): void {
    const writer = this.#writer;
    if (!writer) return;
    writer.write(frame).catch((error: unknown) => {
      if (!this.#stopped) this.#emit((l) => l.warning?.(`request not sent: ${errorMessage(error)}`));
    });
  }

  async #consume(): Promise<void> {
    try {
      for await (const event of this.#transport.fromBus) this.#handle(event);
    } catch (error) {
      this.#emit((l) => l.warning?.(`link read failed: ${errorMessage(error)}`));
    } finally {
      this.#timers.clearInterval(this.#timer);
    }
  }

  #handle(event: TransportEvent): void {
    switch (event.type) {
      case 'status':
        this.#emit((l) => l.link?.(event.status, event.detail ?? event.reason));
        break;
      case 'warning':
        this.#emit((l) => l.warning?.(event.message));
        break;
      case 'frame': {
        const reply = decodePowerReply(event.frame);
        if (!reply) break;
        let state = this.#known.get(reply.node);
        const requestedAt = state?.requestedAt ?? this.#discoveryStartedAt;
        if (!state) {
          state = { requestedAt: undefined, missed: 0 };
          this.#known.set(reply.node, state);
        }
        const wasMissing = state.missed > 0;
        state.requestedAt = undefined;
        state.missed = 0;
        if (wasMissing) this.#emit((l) => l.presence?.({ node: reply.node, missed: 0, silent: false }));
        const reading: MeterReading = { node: reply.node, watts: reply.watts, at: event.receivedAt, latencyMs: event.receivedAt - requestedAt };
        this.#emit((l) => l.reading?.(reading));
        break;
      }
    }
  }

  #emit(call: (listener: AggregatorListener) => void): void {
    for (const listener of this.#listeners) call(listener);
  }
}
