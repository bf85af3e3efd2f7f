/**
 * The aggregator's side of one meter: verifies what the meter sends, builds what the aggregator
 * sends it, and pairs ACKs with commands. No timers and no I/O: frames and bodies come in with
 * their arrival time, frames and typed events go out; the counter and freshness stores are injected.
 */
import { type CanFrame, remoteFrame } from '../can/frame';
import {
  BROADCAST_NODE,
  canId,
  FunctionCode,
  isMeterNode,
  isRecordFunction,
  MAX_ID,
  type PolledFunction,
  splitId,
} from './ids';
import { bytesEqual, deriveGroupKey, deriveMeterKey, toHex, UID_LENGTH } from './keys';
import {
  type AckRecord,
  AckResult,
  type Command,
  ControlOpcode,
  decodeCommand,
  decodeRecord,
  encodeCommand,
  type MeterRecord,
  payloadLengthProblem,
  type StatusRecord,
  STATUS_UID_OFFSET,
} from './records';
import { Reassembler, type ReassemblyEvent, REASSEMBLY_TIMEOUT_MS } from './segmentation';
import { open, SECURITY_OVERHEAD, sealFrames } from './secure';
import type { ReceiverFreshness, SenderCounter } from './freshness';

/** What a remote frame asks for: classic CAN remote frames carry the expected length, here 8. */
export const REQUEST_DLC = 8;
export const DEFAULT_ACK_TIMEOUT_MS = 1000;

export type RejectionReason =
  | 'bad-mac'
  | 'stale'
  /** Frames that could not be reassembled, bodies too short, payloads of the wrong length, impossible values. */
  | 'malformed'
  /** A record other than STATUS before any STATUS verified: there is no key to check it with yet. */
  | 'unknown-uid';

export interface SentCommand {
  readonly node: number;
  readonly id: number;
  readonly fv: number;
  readonly command: Command;
  readonly frames: readonly CanFrame[];
  /** When it was handed out, ms (the caller's clock). */
  readonly at: number;
}

export type LinkEvent =
  | { readonly kind: 'record'; readonly at: number; readonly fv: number; readonly record: MeterRecord }
  /** The first verified STATUS: from now on the link checks and commands this meter. */
  | { readonly kind: 'uid-learned'; readonly at: number; readonly uid: Uint8Array }
  /**
   * A verified STATUS from another meter of this site on this node: a replaced meter, two meters on
   * one node, or a stolen meter's key in use. The link stays with the uid it knows; forgetUid()
   * accepts the change.
   */
  | { readonly kind: 'uid-conflict'; readonly at: number; readonly fv: number; readonly known: Uint8Array; readonly claimed: Uint8Array; readonly status: StatusRecord }
  | { readonly kind: 'ack'; readonly at: number; readonly fv: number; readonly command: SentCommand; readonly ack: AckRecord }
  /** A verified ACK that answers no pending command (an old one, or a forged command's). */
  | { readonly kind: 'unmatched-ack'; readonly at: number; readonly fv: number; readonly ack: AckRecord }
  | { readonly kind: 'ack-timeout'; readonly at: number; readonly command: SentCommand }
  | { readonly kind: 'rejected'; readonly at: number; readonly id: number; readonly reason: RejectionReason; readonly detail: string };

export type RejectionCounts = Readonly<Record<RejectionReason, number>>;

export interface MeterLinkOptions {
  readonly siteKey: Uint8Array;
  /** 1..127. */
  readonly node: number;
  /** The uid of an earlier verified STATUS, if the aggregator kept it. */
  readonly uid?: Uint8Array;
  /** The aggregator's one counter, shared by the links of every meter. */
  readonly counter: SenderCounter;
  /** Last accepted FV per meter, keyed by uid hex. */
  readonly freshness: ReceiverFreshness;
  readonly ackTimeoutMs?: number;
}

export interface ThresholdArguments {
  /** 0.01 % of Udin. */
  readonly dip: number;
  readonly swell: number;
  readonly hysteresis: number;
  /** 0.01 V. */
  readonly udin: number;
}

export class LinkError extends Error {
  override readonly name = 'LinkError';
}

/** The remote frame that asks `node` for a SNAPSHOT, ENERGY or STATUS. */
export function requestFrame(fn: PolledFunction, node: number): CanFrame {
  if (!isMeterNode(node)) throw new RangeError(`node ${node} is outside 1..127`);
  return remoteFrame(canId(fn, node), REQUEST_DLC);
}

export interface SentBroadcast {
  readonly id: number;
  readonly fv: number;
  readonly unixMs: number;
  readonly frames: readonly CanFrame[];
}

/** Group keys by site key: HKDF once per site, not once a broadcast. */
const groupKeys = new WeakMap<Uint8Array, Uint8Array>();

function groupKeyOf(siteKey: Uint8Array): Uint8Array {
  let key = groupKeys.get(siteKey);
  if (!key) {
    key = deriveGroupKey(siteKey);
    groupKeys.set(siteKey, key);
  }
  return key;
}

/** TIME to every meter (node 0), authenticated with the group key; no meter ACKs it. */
export async function broadcastTime(siteKey: Uint8Array, counter: SenderCounter, unixMs: number): Promise<SentBroadcast> {
  const command: Command = { function: FunctionCode.TIME, unixMs };
  const payload = validCommandPayload(command);
  const id = canId(FunctionCode.TIME, BROADCAST_NODE);
  const fv = await counter.next();
  return { id, fv, unixMs, frames: sealFrames(groupKeyOf(siteKey), id, payload, fv) };
}

export class MeterLink {
  readonly node: number;
  readonly #siteKey: Uint8Array;
  readonly #counter: SenderCounter;
  readonly #freshness: ReceiverFreshness;
  readonly #ackTimeoutMs: number;
  readonly #reassembler: Reassembler;
  readonly #pending = new Map<number, SentCommand>();
  readonly #rejected: Record<RejectionReason, number> = { 'bad-mac': 0, stale: 0, malformed: 0, 'unknown-uid': 0 };
  #uid: Uint8Array | undefined;
  #meterKey: Uint8Array | undefined;
  #clock = 0;

  constructor(options: MeterLinkOptions) {
    if (!isMeterNode(options.node)) throw new RangeError(`node ${options.node} is outside 1..127`);
    this.node = options.node;
    this.#siteKey = options.siteKey;
    this.#counter = options.counter;
    this.#freshness = options.freshness;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.#reassembler = new Reassembler({ now: () => this.#clock, timeoutMs: REASSEMBLY_TIMEOUT_MS });
    if (options.uid) this.#learn(options.uid);
  }

  /** The meter's uid once a STATUS verified (or as given at construction); pinned until forgetUid(). */
  get uid(): Uint8Array | undefined {
    return this.#uid?.slice();
  }

  get rejected(): RejectionCounts {
    return { ...this.#rejected };
  }

  /** Commands sent and not yet answered. */
  get pending(): readonly SentCommand[] {
    return [...this.#pending.values()];
  }

  /**
   * Forgets the meter's uid (the user replaced the meter): the next verified STATUS teaches the new
   * one. Pending commands are dropped; their ACKs could not be verified any more.
   */
  forgetUid(): void {
    this.#uid = undefined;
    this.#meterKey = undefined;
    this.#pending.clear();
  }

  request(fn: PolledFunction): CanFrame {
    return requestFrame(fn, this.node);
  }

  /** A frame from the bus on one of this meter's identifiers; others are ignored. */
  receiveFrame(frame: CanFrame, at: number): LinkEvent[] {
    if (frame.remote || frame.extended || !this.#isMine(frame.id) || !isRecordFunction(splitId(frame.id).fn)) return [];
    this.#clock = at;
    const events: LinkEvent[] = [];
    for (const event of this.#reassembler.push(frame)) {
      if (event.kind === 'message') events.push(...this.receiveBody(event.id, event.body, event.at));
      else events.push(this.#rejectReassembly(event));
    }
    return events;
  }

  /** A reassembled body received on `id`. */
  receiveBody(id: number, body: Uint8Array, at: number): LinkEvent[] {
    if (!this.#isMine(id)) return [];
    const { fn } = splitId(id);
    if (!isRecordFunction(fn)) return [];

    // Structure first, as the firmware does: unreadable traffic costs no HMAC.
    if (body.length < SECURITY_OVERHEAD) return [this.#reject(at, id, 'malformed', `a body of ${body.length} bytes cannot hold FV and MAC`)];
    const lengthProblem = payloadLengthProblem(fn, body.subarray(0, body.length - SECURITY_OVERHEAD));
    if (lengthProblem !== undefined) return [this.#reject(at, id, 'malformed', lengthProblem)];

    let uid = this.#uid;
    let key = this.#meterKey;
    if (fn === FunctionCode.STATUS) {
      // The key comes from the uid the record claims; the MAC then proves the claim.
      const claimed = body.slice(STATUS_UID_OFFSET, STATUS_UID_OFFSET + UID_LENGTH);
      if (!uid || !bytesEqual(uid, claimed)) {
        uid = claimed;
        key = deriveMeterKey(this.#siteKey, claimed);
      }
    }
    if (!uid || !key) return [this.#reject(at, id, 'unknown-uid', 'no verified STATUS yet: no key to check this record')];

    const sender = toHex(uid);
    const opened = open(key, id, body, this.#freshness.lastAccepted(sender));
    if (!opened.ok) return [this.#reject(at, id, opened.reason, opened.detail)];
    // Authentic and fresh: the FV is spent even if a value turns out impossible.
    this.#freshness.accept(sender, opened.fv);
    const decoded = decodeRecord(fn, opened.payload);
    if (!decoded.ok) return [this.#reject(at, id, 'malformed', decoded.detail)];

    const record = decoded.value;
    const events: LinkEvent[] = [];
    if (record.function === FunctionCode.STATUS) {
      if (this.#uid && !bytesEqual(this.#uid, uid)) {
        return [{ kind: 'uid-conflict', at, fv: opened.fv, known: this.#uid.slice(), claimed: uid.slice(), status: record.status }];
      }
      if (!this.#uid) {
        this.#learn(uid);
        events.push({ kind: 'uid-learned', at, uid: uid.slice() });
      }
    }
    if (record.function === FunctionCode.ACK) events.push(this.#matchAck(record.ack, opened.fv, at));
    else events.push({ kind: 'record', at, fv: opened.fv, record });
    return events;
  }

  /** Drops partial messages older than 100 ms and reports commands unanswered for too long. */
  expire(at: number): LinkEvent[] {
    this.#clock = at;
    const events: LinkEvent[] = [];
    for (const event of this.#reassembler.expire()) if (event.kind !== 'message') events.push(this.#rejectReassembly(event));
    for (const [fv, command] of this.#pending) {
      if (at - command.at > this.#ackTimeoutMs) {
        this.#pending.delete(fv);
        events.push({ kind: 'ack-timeout', at, command });
      }
    }
    return events;
  }

  /**
   * Seals `command` for this meter with the next aggregator FV. Throws LinkError before the uid is
   * known, RangeError for a command the meter would refuse (dip ≥ swell, max_count > 16, …).
   */
  async send(command: Command, at: number): Promise<SentCommand> {
    const key = this.#meterKey;
    if (!key) throw new LinkError(`node ${this.node}: no verified STATUS yet, so no key to command it with`);
    const payload = validCommandPayload(command);
    const id = canId(command.function, this.node);
    const fv = await this.#counter.next();
    const sent: SentCommand = { node: this.node, id, fv, command, frames: sealFrames(key, id, payload, fv), at };
    this.#pending.set(fv, sent);
    return sent;
  }

  relay(on: boolean, at: number): Promise<SentCommand> {
    return this.send({ function: FunctionCode.RELAY, state: on ? 1 : 0 }, at);
  }

  setTime(unixMs: number, at: number): Promise<SentCommand> {
    return this.send({ function: FunctionCode.TIME, unixMs }, at);
  }

  setThresholds(args: ThresholdArguments, at: number): Promise<SentCommand> {
    return this.send({ function: FunctionCode.CONTROL, opcode: ControlOpcode.SET_THRESHOLDS, ...args }, at);
  }

  identify(seconds: number, at: number): Promise<SentCommand> {
    return this.send({ function: FunctionCode.CONTROL, opcode: ControlOpcode.IDENTIFY, seconds }, at);
  }

  clearEnergyArm(at: number): Promise<SentCommand> {
    return this.send({ function: FunctionCode.CONTROL, opcode: ControlOpcode.CLEAR_ENERGY_ARM }, at);
  }

  /** The second step: quotes the challenge, this meter's uid and the registers it holds now. */
  clearEnergyConfirm(challenge: number, importMwh: number, exportMwh: number, at: number): Promise<SentCommand> {
    const uid = this.#uid;
    if (!uid) return Promise.reject(new LinkError(`node ${this.node}: uid unknown`));
    return this.send({ function: FunctionCode.CONTROL, opcode: ControlOpcode.CLEAR_ENERGY_CONFIRM, challenge, uid, importMwh, exportMwh }, at);
  }

  readAggregates(fromS: number, maxCount: number, at: number): Promise<SentCommand> {
    return this.send({ function: FunctionCode.CONTROL, opcode: ControlOpcode.READ_AGGREGATES, fromS, maxCount }, at);
  }

  readEvents(fromSeq: number, maxCount: number, at: number): Promise<SentCommand> {
    return this.send({ function: FunctionCode.CONTROL, opcode: ControlOpcode.READ_EVENTS, fromSeq, maxCount }, at);
  }

  #isMine(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id <= MAX_ID && splitId(id).node === this.node;
  }

  #learn(uid: Uint8Array): void {
    if (uid.length !== UID_LENGTH) throw new RangeError(`uid is ${uid.length} bytes, not ${UID_LENGTH}`);
    this.#uid = uid.slice();
    this.#meterKey = deriveMeterKey(this.#siteKey, uid);
  }

  #matchAck(ack: AckRecord, fv: number, at: number): LinkEvent {
    const command = this.#pending.get(ack.commandFv);
    const opcode = command?.command.function === FunctionCode.CONTROL ? command.command.opcode : 0;
    if (!command || command.command.function !== ack.function || opcode !== ack.opcode) {
      return { kind: 'unmatched-ack', at, fv, ack };
    }
    this.#pending.delete(ack.commandFv);
    return { kind: 'ack', at, fv, command, ack };
  }

  /** A partial message that was dropped could not be read either: both count as malformed, as on the meter. */
  #rejectReassembly(event: Exclude<ReassemblyEvent, { kind: 'message' }>): LinkEvent {
    return this.#reject(event.at, event.id, 'malformed', `${event.kind} (${event.reason}): ${event.detail}`);
  }

  #reject(at: number, id: number, reason: RejectionReason, detail: string): LinkEvent {
    this.#rejected[reason]++;
    return { kind: 'rejected', at, id, reason, detail };
  }
}

function validCommandPayload(command: Command): Uint8Array {
  const payload = encodeCommand(command);
  const check = decodeCommand(command.function, payload);
  if (!check.ok) throw new RangeError(`a meter would refuse this command: ${check.detail}`);
  return payload;
}

// ---------------------------------------------------------------------------------------------
// Clearing the energy registers: ARM → ACK(challenge) → fresh ENERGY → CONFIRM → ACK.

export type ClearEnergyState = 'idle' | 'arming' | 'reading' | 'confirming' | 'cleared' | 'failed';

export type ClearEnergyStep =
  /** Put these frames on the bus, then keep feeding the link's events. */
  | { readonly kind: 'send'; readonly frames: readonly CanFrame[] }
  | { readonly kind: 'wait' }
  | { readonly kind: 'cleared'; readonly importMwh: number; readonly exportMwh: number }
  | { readonly kind: 'failed'; readonly detail: string };

/** How long a meter honours a challenge (spec: less than 10 s old). */
export const CHALLENGE_LIFETIME_MS = 10_000;
/** How long the flow waits for the ENERGY record before asking again. */
export const ENERGY_RETRY_MS = 1_000;

export interface ClearEnergyOptions {
  /**
   * ARM-to-CONFIRM rounds tried before giving up. A round fails with `mismatch` when the registers
   * moved between the ENERGY reading and the CONFIRM, which is likely while power flows.
   */
  readonly maxAttempts?: number;
}

/**
 * Drives the two-step clear of one meter. Feed it every event of the link; it answers with what to
 * send next. Every CONFIRM spends its challenge, so a retry starts again from ARM.
 */
export class ClearEnergyFlow {
  readonly #link: MeterLink;
  readonly #maxAttempts: number;
  #state: ClearEnergyState = 'idle';
  #attempts = 0;
  #awaitingFv = 0;
  #challenge = 0;
  #armedAt = 0;
  #requestedAt = 0;

  constructor(link: MeterLink, options: ClearEnergyOptions = {}) {
    this.#link = link;
    this.#maxAttempts = options.maxAttempts ?? 3;
  }

  get state(): ClearEnergyState {
    return this.#state;
  }

  async start(at: number): Promise<ClearEnergyStep> {
    if (this.#state !== 'idle') throw new LinkError(`the clear energy flow is ${this.#state}, not idle`);
    return this.#arm(at);
  }

  async handle(event: LinkEvent, at: number): Promise<ClearEnergyStep> {
    switch (this.#state) {
      case 'arming':
      case 'confirming':
        if (event.kind === 'ack-timeout' && event.command.fv === this.#awaitingFv) return this.#fail('the meter did not answer');
        if (event.kind !== 'ack' || event.command.fv !== this.#awaitingFv) return { kind: 'wait' };
        return this.#state === 'arming' ? this.#armed(event.ack, at) : this.#confirmed(event.ack, event.command, at);
      case 'reading':
        if (event.kind !== 'record' || event.record.function !== FunctionCode.ENERGY) return { kind: 'wait' };
        return this.#confirm(event.record.energy.importMwh, event.record.energy.exportMwh, at);
      default:
        return { kind: 'wait' };
    }
  }

  /**
   * Call now and then while waiting for the ENERGY record: asks again after a second, and starts
   * over from ARM once the challenge has expired.
   */
  async tick(at: number): Promise<ClearEnergyStep> {
    if (this.#state !== 'reading') return { kind: 'wait' };
    if (at - this.#armedAt >= CHALLENGE_LIFETIME_MS) {
      return this.#attempts < this.#maxAttempts ? this.#arm(at) : this.#fail('no ENERGY record before the challenge expired');
    }
    if (at - this.#requestedAt < ENERGY_RETRY_MS) return { kind: 'wait' };
    this.#requestedAt = at;
    return { kind: 'send', frames: [this.#link.request(FunctionCode.ENERGY)] };
  }

  async #arm(at: number): Promise<ClearEnergyStep> {
    this.#attempts++;
    const sent = await this.#link.clearEnergyArm(at);
    this.#state = 'arming';
    this.#awaitingFv = sent.fv;
    return { kind: 'send', frames: sent.frames };
  }

  #armed(ack: AckRecord, at: number): ClearEnergyStep {
    if (ack.result !== AckResult.OK) return this.#fail(`ARM refused: ${ack.resultName}`);
    this.#challenge = ack.value;
    this.#state = 'reading';
    this.#armedAt = at;
    this.#requestedAt = at;
    // A reading taken after the ARM, so it is as close as possible to what the meter holds.
    return { kind: 'send', frames: [this.#link.request(FunctionCode.ENERGY)] };
  }

  async #confirm(importMwh: number, exportMwh: number, at: number): Promise<ClearEnergyStep> {
    const sent = await this.#link.clearEnergyConfirm(this.#challenge, importMwh, exportMwh, at);
    this.#state = 'confirming';
    this.#awaitingFv = sent.fv;
    return { kind: 'send', frames: sent.frames };
  }

  async #confirmed(ack: AckRecord, command: SentCommand, at: number): Promise<ClearEnergyStep> {
    if (ack.result === AckResult.OK && command.command.function === FunctionCode.CONTROL && command.command.opcode === ControlOpcode.CLEAR_ENERGY_CONFIRM) {
      this.#state = 'cleared';
      return { kind: 'cleared', importMwh: command.command.importMwh, exportMwh: command.command.exportMwh };
    }
    const retriable = ack.result === AckResult.MISMATCH || ack.result === AckResult.NOT_ARMED || ack.result === AckResult.BUSY;
    if (retriable && this.#attempts < this.#maxAttempts) return this.#arm(at);
    return this.#fail(`CONFIRM refused: ${ack.resultName} after ${this.#attempts} attempt(s)`);
  }

  #fail(detail: string): ClearEnergyStep {
    this.#state = 'failed';
    return { kind: 'failed', detail };
  }
}
