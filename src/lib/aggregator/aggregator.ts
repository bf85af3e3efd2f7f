/**
 * The bus master: owns one transport, discovers meters, polls them, verifies every record through
 * the secure protocol (src/lib/meter) before anyone sees it, and sends authenticated commands.
 * No Svelte here: the screens watch it through src/state.
 *
 * Requests are pipelined: every remote frame of a cycle is handed to the adapter at once, so the
 * cycle is bounded by the bus, not by waiting on each reply.
 */
import { frameDurationNs } from '../can/bit-timing';
import type { CanFrame } from '../can/frame';
import type { CanTransport, LinkStatus, TransportEvent } from '../can/transport';
import { errorMessage } from '../errors';
import type { ReceiverFreshness, SenderCounter } from '../meter/freshness';
import { FunctionCode, isMeterNode, isRecordFunction, MAX_NODE, type PolledFunction, splitId } from '../meter/ids';
import { toHex } from '../meter/keys';
import { broadcastTime, type LinkEvent, MeterLink, requestFrame, type RejectionReason, type SentCommand } from '../meter/link';
import { type AckRecord, AckResult, type AggregateRecord, type EnergyRecord, type EventRecord, MAX_READ_COUNT, type SnapshotRecord, type StatusRecord } from '../meter/records';
import { SLOT_MS } from '../tariff/slot';
import { PollStats, type MeterPollStats } from './poll-stats';

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
  /** A poll cycle whose every SNAPSHOT was answered: its time against the bus time of its frames. */
  cycle?(timing: CycleTiming): void;
  warning?(message: string): void;
}

/** How long a complete poll cycle took, against the least the bus needs for its frames. */
export interface CycleTiming {
  readonly cycle: number;
  readonly meters: number;
  /** From handing the first request to the adapter to the last verified reply, ms. */
  readonly durationMs: number;
  /** Exact on-wire time of the cycle's requests and replies (stuff bits counted), ms. */
  readonly busTimeMs: number;
  /** durationMs / busTimeMs: 1 means the cycle is limited by the bus alone. */
  readonly ratio: number;
}

/** The records a READ_AGGREGATES or READ_EVENTS brought back, with the meter's final ACK. */
export interface HistoryRead<T> {
  readonly records: readonly T[];
  readonly ack: AckRecord;
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
  /** Read STATUS (rejection and CAN error counters) every this many cycles. */
  readonly statusEveryCycles?: number;
  /** Polls without a reply before a meter is called silent. */
  readonly silentAfterMissed?: number;
  /** The bus's bit rate, for the cycle's bus-time bound. */
  readonly bitrate?: number;
  /** How long after its ACK a history read waits for records that lost arbitration to it, ms. */
  readonly readSettleMs?: number;
  readonly now?: () => number;
  readonly timers?: Timers;
}

const defaultTimers: Timers = {
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (handle) => globalThis.clearInterval(handle as ReturnType<typeof globalThis.setInterval>),
};

/** Meters need a moment after power-up before they answer; the first cycles sweep every node. */
const INITIAL_SWEEPS = 5;
/**
 * A poll later than its period by more than this is taken for a step of the clock (a throttled
 * background tab is at most a minute late), as is any poll earlier than the one before.
 */
const CLOCK_STEP_MS = 60_000;

interface NodeState {
  readonly link: MeterLink;
  /** When the outstanding request of each polled function went out. */
  readonly asked: Map<PolledFunction, number>;
  missed: number;
  /** The `meter` event went out. */
  announced: boolean;
  /** Commands to this meter go one at a time: a meter accepts only strictly newer FVs. */
  commands: Promise<unknown>;
  /** The history read in progress, collecting its records. */
  read: PendingRead | undefined;
}

interface PendingRead {
  readonly fv: number;
  readonly kind: 'aggregates' | 'events';
  readonly records: (AggregateRecord | EventRecord)[];
  ack: AckRecord | undefined;
  ackedAt?: number;
  readonly resolve: (read: HistoryRead<AggregateRecord | EventRecord>) => void;
  readonly reject: (error: Error) => void;
}

interface CycleInProgress {
  readonly cycle: number;
  readonly startedAt: number;
  /** Nodes whose SNAPSHOT of this cycle has not arrived yet. */
  readonly waiting: Set<number>;
  meters: number;
  busNs: number;
  lastReplyAt: number;
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
  readonly #stats = new PollStats();
  #writer: WritableStreamDefaultWriter<CanFrame> | undefined;
  #timer: unknown;
  #intervalMsNow: number;
  #cycle = 0;
  #current: CycleInProgress | undefined;
  #lastEnergySlot = -1;
  #lastPollAt: number | undefined;
  #reading: Promise<void> | undefined;
  #stopped = false;

  constructor(transport: CanTransport, options: AggregatorOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#intervalMsNow = this.#intervalMs;
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

  /** Reply latency and missed polls of a verified meter. */
  pollStats(node: number): MeterPollStats | undefined {
    return this.#nodes.get(node)?.link.uid ? this.#stats.of(node) : undefined;
  }

  /** The uid (hex) a node proved, if it did. */
  uidOf(node: number): string | undefined {
    const uid = this.#nodes.get(node)?.link.uid;
    return uid ? toHex(uid) : undefined;
  }

  get pollIntervalMs(): number {
    return this.#intervalMsNow;
  }

  /** Changes the poll period; takes effect at once. */
  setPollInterval(ms: number): void {
    if (!Number.isFinite(ms) || ms < 50 || ms > 3_600_000) throw new RangeError(`a poll period of ${ms} ms is outside 50 ms..1 h`);
    this.#intervalMsNow = ms;
    if (this.#writer && !this.#stopped) {
      this.#timers.clearInterval(this.#timer);
      this.#timer = this.#timers.setInterval(() => this.#poll(), ms);
    }
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
    this.#timer = this.#timers.setInterval(() => this.#poll(), this.#intervalMsNow);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#timers.clearInterval(this.#timer);
    for (const pending of this.#acks.values()) pending.reject(new Error('the aggregator stopped'));
    this.#acks.clear();
    for (const state of this.#nodes.values()) {
      state.read?.reject(new Error('the aggregator stopped'));
      state.read = undefined;
    }
    this.#writer?.releaseLock();
    await this.#transport.close();
    await this.#reading;
  }

  /** Switches a meter's relay; resolves with the meter's ACK. */
  setRelay(node: number, on: boolean): Promise<AckRecord> {
    return this.#serialised(node, async (link) => this.#command(await link.relay(on, this.#now())));
  }

  /** Makes a meter blink its LED, so the installer can find it. */
  identify(node: number, seconds: number): Promise<AckRecord> {
    return this.#serialised(node, async (link) => this.#command(await link.identify(seconds, this.#now())));
  }

  /** Sets a meter's dip and swell thresholds (0.01 % of Udin; Udin in 0.01 V). */
  setThresholds(node: number, args: { dip: number; swell: number; hysteresis: number; udin: number }): Promise<AckRecord> {
    return this.#serialised(node, async (link) => this.#command(await link.setThresholds(args, this.#now())));
  }

  /** Up to `maxCount` (≤ 16) of the meter's 10-minute aggregates that start at or after `fromS`, oldest first. */
  readAggregates(node: number, fromS: number, maxCount = MAX_READ_COUNT): Promise<HistoryRead<AggregateRecord>> {
    return this.#serialised(node, async (link) => this.#historyRead(node, 'aggregates', await link.readAggregates(fromS, maxCount, this.#now()))) as Promise<HistoryRead<AggregateRecord>>;
  }

  /** Up to `maxCount` (≤ 16) of the meter's events with seq ≥ `fromSeq`, oldest first. */
  readEvents(node: number, fromSeq: number, maxCount = MAX_READ_COUNT): Promise<HistoryRead<EventRecord>> {
    return this.#serialised(node, async (link) => this.#historyRead(node, 'events', await link.readEvents(fromSeq, maxCount, this.#now()))) as Promise<HistoryRead<EventRecord>>;
  }

  /**
   * Runs one command to a meter after the previous one was answered: commands share the
   * aggregator's counter, and two in flight could reach the meter out of order (a higher-priority
   * identifier overtakes), making the older one stale.
   */
  #serialised<T>(node: number, run: (link: MeterLink) => Promise<T>): Promise<T> {
    let link: MeterLink;
    try {
      link = this.#verifiedLink(node);
    } catch (error) {
      return Promise.reject(error);
    }
    const state = this.#state(node);
    const result = state.commands.then(() => run(link));
    state.commands = result.catch(() => undefined);
    return result;
  }

  #historyRead(node: number, kind: PendingRead['kind'], sent: SentCommand): Promise<HistoryRead<AggregateRecord | EventRecord>> {
    const state = this.#state(node);
    const done = new Promise<HistoryRead<AggregateRecord | EventRecord>>((resolve, reject) => {
      state.read = { fv: sent.fv, kind, records: [], ack: undefined, resolve, reject };
    });
    const acked = this.#command(sent);
    acked.then(
      (ack) => {
        const read = state.read;
        if (!read || read.fv !== sent.fv) return;
        if (ack.result !== AckResult.OK) {
          state.read = undefined;
          read.reject(new Error(`meter ${node} refused the read: ${ack.resultName}`));
          return;
        }
        read.ack = ack;
        read.ackedAt = this.#now();
        // Records still on their way (queued behind the ACK) get until a later poll tick.
        this.#settleRead(state);
      },
      (error: unknown) => {
        const read = state.read;
        if (read?.fv !== sent.fv) return;
        state.read = undefined;
        read.reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
    return done;
  }

  /**
   * Resolves the read once its ACK and as many records as the ACK counts have arrived, or, with
   * `expire`, once the ACK is older than readSettleMs (a record was lost: the caller sees fewer).
   */
  #settleRead(state: NodeState, expire = false): void {
    const read = state.read;
    if (!read?.ack) return;
    const late = expire && this.#now() - (read.ackedAt ?? 0) >= (this.#options.readSettleMs ?? 200);
    if (read.records.length < read.ack.value && !late) return;
    state.read = undefined;
    read.resolve({ records: read.records, ack: read.ack });
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
    // The clock stepped (NTP corrected a wrong tablet clock): the meters hear the new time at
    // once, not at the next periodic broadcast, so their aggregates and events carry it.
    const last = this.#lastPollAt;
    const stepped = last !== undefined && (now < last || now - last > this.#intervalMsNow + CLOCK_STEP_MS);
    this.#lastPollAt = now;
    if (cycle % (this.#options.timeEveryCycles ?? 600) === 0 || stepped) void this.#broadcastTime(now);
    const sweep = cycle < INITIAL_SWEEPS || cycle % (this.#options.rescanEveryCycles ?? 10) === 0;
    // Registers are read every few cycles and right after each 15-minute boundary, so that a
    // slot's energy is a difference of readings a second or two from its edges.
    const slot = Math.floor(now / SLOT_MS);
    const energyDue = cycle % (this.#options.energyEveryCycles ?? 10) === 1 || slot !== this.#lastEnergySlot;
    const statusDue = cycle % (this.#options.statusEveryCycles ?? 60) === 2;
    if (energyDue) this.#lastEnergySlot = slot;
    this.#current = { cycle, startedAt: now, waiting: new Set(), meters: 0, busNs: 0, lastReplyAt: now };
    for (const [node, state] of this.#nodes) {
      for (const event of state.link.expire(now)) this.#linkEvent(node, event);
      this.#settleRead(state, true);
      if (!state.link.uid) continue;
      if (state.asked.has(FunctionCode.SNAPSHOT)) this.#missed(node, state);
      this.#ask(state, FunctionCode.SNAPSHOT, now);
      this.#current.waiting.add(node);
      this.#current.meters++;
      this.#stats.asked(node);
      if (energyDue) this.#ask(state, FunctionCode.ENERGY, now);
      if (statusDue) this.#ask(state, FunctionCode.STATUS, now);
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
    const frame = requestFrame(fn, state.link.node);
    if (this.#current && state.link.uid) this.#current.busNs += this.#frameNs(frame);
    this.#send(frame);
  }

  #frameNs(frame: CanFrame): number {
    return this.#options.bitrate ? frameDurationNs(frame, this.#options.bitrate) : 0;
  }

  #state(node: number): NodeState {
    let state = this.#nodes.get(node);
    if (!state) {
      const { siteKey, counter, freshness } = this.#options;
      state = { link: new MeterLink({ siteKey, node, counter, freshness }), asked: new Map(), missed: 0, announced: false, commands: Promise.resolve(), read: undefined };
      this.#nodes.set(node, state);
    }
    return state;
  }

  #missed(node: number, state: NodeState): void {
    state.missed++;
    this.#stats.missed(node);
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
        const current = this.#current;
        if (current?.waiting.has(node) && (fn === FunctionCode.SNAPSHOT || fn === FunctionCode.ENERGY || fn === FunctionCode.STATUS)) current.busNs += this.#frameNs(frame);
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
          if (reading.latencyMs !== undefined) this.#stats.answered(node, reading.latencyMs);
          this.#cycleReply(node, event.at);
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
        } else if (record.function === FunctionCode.AGGREGATE || record.function === FunctionCode.EVENT) {
          const read = state.read;
          const kind = record.function === FunctionCode.AGGREGATE ? 'aggregates' : 'events';
          if (read?.kind === kind) {
            read.records.push(record.function === FunctionCode.AGGREGATE ? record.aggregate : record.event);
            this.#settleRead(state);
          } else {
            this.#emit((l) => l.unsolicited?.(node, record.function));
          }
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

  #cycleReply(node: number, at: number): void {
    const current = this.#current;
    if (!current?.waiting.delete(node)) return;
    current.lastReplyAt = Math.max(current.lastReplyAt, at);
    if (current.waiting.size > 0 || !this.#options.bitrate || current.busNs === 0) return;
    const durationMs = current.lastReplyAt - current.startedAt;
    const busTimeMs = current.busNs / 1e6;
    const timing: CycleTiming = { cycle: current.cycle, meters: current.meters, durationMs, busTimeMs, ratio: durationMs / busTimeMs };
    this.#emit((l) => l.cycle?.(timing));
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
