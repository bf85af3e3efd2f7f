/**
 * The bus master: owns one transport, discovers meters, polls them, verifies every record through
 * the secure protocol (src/lib/meter) before anyone sees it, and sends authenticated commands.
 * No Svelte here: the screens watch it through src/state.
 *
 * Requests are pipelined: every remote frame of a cycle is handed to the adapter at once, so the
 * cycle is bounded by the bus, not by waiting on each reply.
 */
import type { CanFrame } from '../can/frame';
import type { CanTransport, LinkStatus, TransportEvent } from '../can/transport';
import { errorMessage } from '../errors';
import type { ReceiverFreshness, SenderCounter } from '../meter/freshness';
import { FunctionCode, isMeterNode, isRecordFunction, MAX_NODE, type PolledFunction, splitId } from '../meter/ids';
import { toHex } from '../meter/keys';
import { broadcastTime, type LinkEvent, MeterLink, requestFrame, type RejectionReason, type SentCommand } from '../meter/link';
import type { AckRecord, EnergyRecord, SnapshotRecord, StatusRecord } from '../meter/records';

export interface SnapshotReading {
  readonly node: number;
  readonly record: SnapshotRecord;
  /** Wall-clock time of arrival, ms since the epoch. */
  readonly at: number;
  /** From handing the request to the adapter to the verified record, ms; undefined if unasked. */
  readonly latencyMs: number | undefined;
}

export interface MeterPresence {
  readonly node: number;
  /** Consecutive polls without a reply. */
  readonly missed: number;
  readonly silent: boolean;
}

export interface Rejection {
  readonly node: number;
  readonly reason: RejectionReason;
  readonly detail: string;
  /** Rejections of this meter's traffic so far, by reason. */
  readonly counts: Readonly<Record<RejectionReason, number>>;
}

export interface AggregatorListener {
  link?(status: LinkStatus, detail?: string): void;
  /** A meter proved who it is: a STATUS verified with the key derived from its uid. */
  meter?(node: number, uidHex: string, status: StatusRecord): void;
  snapshot?(reading: SnapshotReading): void;
  energy?(node: number, record: EnergyRecord, at: number): void;
  status?(node: number, record: StatusRecord, at: number): void;
  presence?(presence: MeterPresence): void;
  rejected?(rejection: Rejection): void;
  /** A verified record nobody asked for: a burst means someone is sending forged requests. */
  unsolicited?(node: number, fn: number): void;
  warning?(message: string): void;
}

export interface Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface AggregatorOptions {
  readonly siteKey: Uint8Array;
  /** The aggregator's freshness counter (one for all its commands). */
  readonly counter: SenderCounter;
  /** The last freshness value accepted from each meter. */
  readonly freshness: ReceiverFreshness;
  /** Poll period, ms. */
  readonly intervalMs?: number;
  /** Every this many cycles, also ask the node ids nobody answered on, to find new meters. */
  readonly rescanEveryCycles?: number;
  /** Read the energy registers every this many cycles. */
  readonly energyEveryCycles?: number;
  /** Broadcast the time every this many cycles (and at start). */
  readonly timeEveryCycles?: number;
  /** Polls without a reply before a meter is called silent. */
  readonly silentAfterMissed?: number;
  readonly now?: () => number;
  readonly timers?: Timers;
}

const defaultTimers: Timers = {
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (handle) => globalThis.clearInterval(handle as ReturnType<typeof globalThis.setInterval>),
};

/** Meters need a moment after power-up before they answer; the first cycles sweep every node. */
const INITIAL_SWEEPS = 5;

interface NodeState {
  readonly link: MeterLink;
  /** When the outstanding request of each polled function went out. */
  readonly asked: Map<PolledFunction, number>;
  missed: number;
  /** The `meter` event went out. */
  announced: boolean;
}

export class Aggregator {
  readonly #transport: CanTransport;
  readonly #options: AggregatorOptions;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #listeners = new Set<AggregatorListener>();
  readonly #nodes = new Map<number, NodeState>();
  readonly #acks = new Map<number, { resolve: (ack: AckRecord) => void; reject: (error: Error) => void }>();
  #writer: WritableStreamDefaultWriter<CanFrame> | undefined;
  #timer: unknown;
  #cycle = 0;
  #reading: Promise<void> | undefined;
  #stopped = false;

  constructor(transport: CanTransport, options: AggregatorOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#now = options.now ?? (() => Date.now());
    this.#timers = options.timers ?? defaultTimers;
  }

  get label(): string {
    return this.#transport.label;
  }

  /** Nodes whose identity is verified, in order. */
  get meters(): number[] {
    return [...this.#nodes.entries()].filter(([, s]) => s.link.uid).map(([node]) => node).sort((a, b) => a - b);
  }

  rejections(node: number): Readonly<Record<RejectionReason, number>> | undefined {
    return this.#nodes.get(node)?.link.rejected;
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
    for (const pending of this.#acks.values()) pending.reject(new Error('the aggregator stopped'));
    this.#acks.clear();
    this.#writer?.releaseLock();
    await this.#transport.close();
    await this.#reading;
  }

  /** Switches a meter's relay; resolves with the meter's ACK. */
  async setRelay(node: number, on: boolean): Promise<AckRecord> {
    const link = this.#verifiedLink(node);
    return this.#command(await link.relay(on, this.#now()));
  }

  /** Makes a meter blink its LED, so the installer can find it. */
  async identify(node: number, seconds: number): Promise<AckRecord> {
    const link = this.#verifiedLink(node);
    return this.#command(await link.identify(seconds, this.#now()));
  }

  #verifiedLink(node: number): MeterLink {
    const link = this.#nodes.get(node)?.link;
    if (!link?.uid) throw new Error(`meter ${node} has not proved its identity yet`);
    return link;
  }

  #command(sent: SentCommand): Promise<AckRecord> {
    const result = new Promise<AckRecord>((resolve, reject) => this.#acks.set(sent.fv, { resolve, reject }));
    for (const frame of sent.frames) this.#send(frame);
    return result;
  }

  #poll(): void {
    const cycle = this.#cycle++;
    const now = this.#now();
    if (cycle % (this.#options.timeEveryCycles ?? 600) === 0) void this.#broadcastTime(now);
    const sweep = cycle < INITIAL_SWEEPS || cycle % (this.#options.rescanEveryCycles ?? 10) === 0;
    const energyDue = cycle % (this.#options.energyEveryCycles ?? 10) === 1;
    for (const [node, state] of this.#nodes) {
      for (const event of state.link.expire(now)) this.#linkEvent(node, event);
      if (!state.link.uid) continue;
      if (state.asked.has(FunctionCode.SNAPSHOT)) this.#missed(node, state);
      this.#ask(state, FunctionCode.SNAPSHOT, now);
      if (energyDue) this.#ask(state, FunctionCode.ENERGY, now);
    }
    if (!sweep) return;
    for (let node = 1; node <= MAX_NODE; node++) {
      const state = this.#nodes.get(node);
      if (state?.link.uid) continue;
      this.#ask(state ?? this.#state(node), FunctionCode.STATUS, now);
    }
  }

  async #broadcastTime(now: number): Promise<void> {
    try {
      const sent = await broadcastTime(this.#options.siteKey, this.#options.counter, now);
      for (const frame of sent.frames) this.#send(frame);
    } catch (error) {
      this.#warn(`time not broadcast: ${errorMessage(error)}`);
    }
  }

  #ask(state: NodeState, fn: PolledFunction, now: number): void {
    state.asked.set(fn, now);
    this.#send(requestFrame(fn, state.link.node));
  }

  #state(node: number): NodeState {
    let state = this.#nodes.get(node);
    if (!state) {
      const { siteKey, counter, freshness } = this.#options;
      state = { link: new MeterLink({ siteKey, node, counter, freshness }), asked: new Map(), missed: 0, announced: false };
      this.#nodes.set(node, state);
    }
    return state;
  }

  #missed(node: number, state: NodeState): void {
    state.missed++;
    this.#emit((l) => l.presence?.({ node, missed: state.missed, silent: state.missed >= (this.#options.silentAfterMissed ?? 3) }));
  }

  #send(frame: CanFrame): void {
    this.#writer?.write(frame).catch((error: unknown) => {
      if (!this.#stopped) this.#warn(`frame not sent: ${errorMessage(error)}`);
    });
  }

  async #consume(): Promise<void> {
    try {
      for await (const event of this.#transport.fromBus) this.#handle(event);
    } catch (error) {
      this.#warn(`link read failed: ${errorMessage(error)}`);
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
        this.#warn(event.message);
        break;
      case 'frame': {
        const frame = event.frame;
        if (frame.extended || frame.remote) break;
        const { fn, node } = splitId(frame.id);
        // Commands on the bus are ours (or someone else's); only meters' records concern us.
        if (!isMeterNode(node) || !isRecordFunction(fn)) break;
        for (const linkEvent of this.#state(node).link.receiveFrame(frame, event.receivedAt)) this.#linkEvent(node, linkEvent);
        break;
      }
    }
  }

  #linkEvent(node: number, event: LinkEvent): void {
    const state = this.#state(node);
    switch (event.kind) {
      case 'record': {
        const { record } = event;
        const asked = isPolled(record.function) ? state.asked.get(record.function) : undefined;
        if (isPolled(record.function)) {
          if (asked === undefined) this.#emit((l) => l.unsolicited?.(node, record.function));
          state.asked.delete(record.function);
        }
        if (record.function === FunctionCode.SNAPSHOT) {
          if (state.missed > 0) {
            state.missed = 0;
            this.#emit((l) => l.presence?.({ node, missed: 0, silent: false }));
          }
          const reading: SnapshotReading = { node, record: record.snapshot, at: event.at, latencyMs: asked === undefined ? undefined : event.at - asked };
          this.#emit((l) => l.snapshot?.(reading));
        } else if (record.function === FunctionCode.ENERGY) {
          this.#emit((l) => l.energy?.(node, record.energy, event.at));
        } else if (record.function === FunctionCode.STATUS) {
          const uid = state.link.uid;
          if (uid && !state.announced) {
            state.announced = true;
            this.#emit((l) => l.meter?.(node, toHex(uid), record.status));
          }
          this.#emit((l) => l.status?.(node, record.status, event.at));
        }
        break;
      }
      case 'uid-learned':
        // The STATUS that proved it arrives as a record event too, and announces the meter.
        break;
      case 'ack': {
        const pending = this.#acks.get(event.command.fv);
        this.#acks.delete(event.command.fv);
        pending?.resolve(event.ack);
        break;
      }
      case 'ack-timeout': {
        const pending = this.#acks.get(event.command.fv);
        this.#acks.delete(event.command.fv);
        pending?.reject(new Error(`meter ${node} did not acknowledge the command`));
        break;
      }
      case 'rejected': {
        const rejection: Rejection = { node, reason: event.reason, detail: event.detail, counts: state.link.rejected };
        this.#emit((l) => l.rejected?.(rejection));
        break;
      }
      case 'uid-conflict':
        this.#warn(`node ${node}: a second meter (uid ${toHex(event.claimed)}) answers as ${toHex(event.known)}`);
        break;
      case 'unmatched-ack':
        break;
    }
  }

  #warn(message: string): void {
    this.#emit((l) => l.warning?.(message));
  }

  #emit(call: (listener: AggregatorListener) => void): void {
    for (const listener of this.#listeners) call(listener);
  }
}

function isPolled(fn: number): fn is PolledFunction {
  return fn === FunctionCode.SNAPSHOT || fn === FunctionCode.ENERGY || fn === FunctionCode.STATUS;
}
