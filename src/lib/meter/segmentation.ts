/**
 * Messages over several frames (docs/protocol.md §2). Byte 0 of each frame is `index << 4 | last`,
 * bytes 1..7 carry the body; every frame but the last has DLC 8, the last DLC 2..8.
 */
import { type CanFrame, dataFrame } from '../can/frame';
import { MAX_ID } from './ids';

export const BODY_BYTES_PER_FRAME = 7;
export const MAX_FRAMES = 16;
export const MAX_BODY_LENGTH = BODY_BYTES_PER_FRAME * MAX_FRAMES;
/** How long a partial message may wait for its next frame, counted from its first frame. */
export const REASSEMBLY_TIMEOUT_MS = 100;

/** How many frames a body of this length takes. */
export function frameCount(bodyLength: number): number {
  return Math.ceil(bodyLength / BODY_BYTES_PER_FRAME);
}

/** The frames carrying `body` on `id`; throws RangeError for an empty body or one over 112 bytes. */
export function segment(id: number, body: Uint8Array): CanFrame[] {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw new RangeError(`identifier ${id} is outside 0..0x${MAX_ID.toString(16)}`);
  if (body.length < 1 || body.length > MAX_BODY_LENGTH) {
    throw new RangeError(`a body of ${body.length} bytes does not fit 1..${MAX_FRAMES} frames`);
  }
  const last = frameCount(body.length) - 1;
  const frames: CanFrame[] = [];
  for (let index = 0; index <= last; index++) {
    const chunk = body.subarray(index * BODY_BYTES_PER_FRAME, (index + 1) * BODY_BYTES_PER_FRAME);
    const data = new Uint8Array(1 + chunk.length);
    data[0] = (index << 4) | last;
    data.set(chunk, 1);
    frames.push(dataFrame(id, data));
  }
  return frames;
}

export type MalformedReason =
  /** DLC 0 or 1, or a frame other than the last without DLC 8. */
  | 'bad-length'
  /** index > last. */
  | 'bad-header'
  /** A continuation whose index or `last` does not follow the partial message (which is dropped). */
  | 'out-of-sequence'
  /** A continuation with no partial message to continue. */
  | 'no-start';

export type DroppedReason =
  /** A new index-0 frame replaced the partial message. */
  | 'restarted'
  /** The partial message was older than 100 ms. */
  | 'timeout';

export type ReassemblyEvent =
  | { readonly kind: 'message'; readonly id: number; readonly body: Uint8Array; readonly at: number }
  | { readonly kind: 'malformed'; readonly id: number; readonly reason: MalformedReason; readonly detail: string; readonly at: number }
  | { readonly kind: 'dropped'; readonly id: number; readonly reason: DroppedReason; readonly detail: string; readonly at: number };

interface Partial {
  readonly last: number;
  readonly startedAt: number;
  nextIndex: number;
  readonly body: Uint8Array;
}

export interface ReassemblerOptions {
  /** Milliseconds, from any fixed origin; injected so tests and replays control time. */
  readonly now: () => number;
  readonly timeoutMs?: number;
}

/**
 * Rebuilds bodies from frames, one partial message per identifier. Remote frames and extended
 * identifiers are not part of any message and are ignored.
 */
export class Reassembler {
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #partials = new Map<number, Partial>();

  constructor(options: ReassemblerOptions) {
    this.#now = options.now;
    this.#timeoutMs = options.timeoutMs ?? REASSEMBLY_TIMEOUT_MS;
  }

  /** Identifiers with a message in progress. */
  get pending(): number {
    return this.#partials.size;
  }

  push(frame: CanFrame): ReassemblyEvent[] {
    if (frame.remote || frame.extended) return [];
    const at = this.#now();
    const id = frame.id;
    const events: ReassemblyEvent[] = [];
    const stale = this.#expireOne(id, at);
    if (stale) events.push(stale);

    const data = frame.data;
    const header = data[0];
    if (header === undefined || data.length < 2) {
      events.push(...this.#malformed(id, 'bad-length', `a frame of ${data.length} bytes carries no body`, at));
      return events;
    }
    const index = header >> 4;
    const last = header & 0x0f;
    if (index > last) {
      events.push(...this.#malformed(id, 'bad-header', `frame index ${index} is past the last index ${last}`, at));
      return events;
    }
    if (index < last && data.length !== 8) {
      events.push(...this.#malformed(id, 'bad-length', `frame ${index} of 0..${last} has DLC ${data.length}, not 8`, at));
      return events;
    }

    let partial = this.#partials.get(id);
    if (index === 0) {
      if (partial) {
        this.#partials.delete(id);
        events.push({ kind: 'dropped', id, reason: 'restarted', detail: `a new message began after frame ${partial.nextIndex - 1} of 0..${partial.last}`, at });
      }
      // Sized for full frames: the length is known only from the last frame's DLC.
      partial = { last, startedAt: at, nextIndex: 0, body: new Uint8Array(BODY_BYTES_PER_FRAME * (last + 1)) };
      this.#partials.set(id, partial);
    } else if (!partial) {
      events.push({ kind: 'malformed', id, reason: 'no-start', detail: `frame ${index} of 0..${last} without frame 0`, at });
      return events;
    } else if (index !== partial.nextIndex || last !== partial.last) {
      this.#partials.delete(id);
      events.push({
        kind: 'malformed',
        id,
        reason: 'out-of-sequence',
        detail: `expected frame ${partial.nextIndex} of 0..${partial.last}, got ${index} of 0..${last}`,
        at,
      });
      return events;
    }

    partial.body.set(data.subarray(1), index * BODY_BYTES_PER_FRAME);
    partial.nextIndex = index + 1;
    if (index === last) {
      this.#partials.delete(id);
      events.push({ kind: 'message', id, body: partial.body.slice(0, BODY_BYTES_PER_FRAME * last + data.length - 1), at });
    }
    return events;
  }

  /** Drops every partial message older than the timeout; call it now and then when no frames arrive. */
  expire(): ReassemblyEvent[] {
    const at = this.#now();
    const events: ReassemblyEvent[] = [];
    for (const id of [...this.#partials.keys()]) {
      const event = this.#expireOne(id, at);
      if (event) events.push(event);
    }
    return events;
  }

  #expireOne(id: number, at: number): ReassemblyEvent | undefined {
    const partial = this.#partials.get(id);
    if (!partial || at - partial.startedAt <= this.#timeoutMs) return undefined;
    this.#partials.delete(id);
    return { kind: 'dropped', id, reason: 'timeout', detail: `frame ${partial.nextIndex} of 0..${partial.last} did not arrive within ${this.#timeoutMs} ms`, at };
  }

  /** A malformed frame also ends the partial message on its identifier: it cannot be trusted to continue. */
  #malformed(id: number, reason: MalformedReason, detail: string, at: number): ReassemblyEvent[] {
    this.#partials.delete(id);
    return [{ kind: 'malformed', id, reason, detail, at }];
  }
}
