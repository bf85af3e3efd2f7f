/**
 * A CAN bus in virtual time: nodes queue frames, arbitrate bit-exactly by identifier whenever the
 * bus goes idle, and each frame occupies the bus for its exact stuffed length at the bitrate.
 */
import { arbitrationKey, assertBitrate, bitsToNs, frameOnWireBits, INTERMISSION_BITS } from '../can/bit-timing';
import { validated, type CanFrame } from '../can/frame';
import type { EventScheduler } from './scheduler';

export interface VirtualCanBusOptions {
  /** Bits per second, e.g. 125_000. */
  bitrate: number;
}

export interface BusStats {
  /** Frames completed since the last reset. */
  readonly framesDelivered: number;
  /** On-wire bits of those frames, stuff bits and intermission included. */
  readonly bitsOnWire: number;
  readonly stuffBits: number;
  /** Time the bus was occupied since the last reset, including the part of a frame still on the wire. */
  readonly busyNs: number;
  /** Virtual time of the last reset (or of the bus's creation). */
  readonly sinceNs: number;
  readonly elapsedNs: number;
  /** busyNs / elapsedNs, 0..1; 0 while no time has passed. */
  readonly load: number;
  /** One count per node that offered a frame and lost an arbitration round. */
  readonly arbitrationsLost: number;
  /** Queued frames thrown away because their node detached. */
  readonly framesDropped: number;
}

export interface BusNode {
  readonly name: string;
  /** Queues a frame for transmission (throws CanFrameError if it is not a valid classic frame). */
  send(frame: CanFrame): void;
  /** Frames from other nodes, each a private copy, at the time their EOF completed. */
  onReceive: ((frame: CanFrame, endTimeNs: number) => void) | null;
  /** This node's frame (the object given to send) went out, at the time its EOF completed. */
  onTransmitted: ((frame: CanFrame, endTimeNs: number) => void) | null;
  /** Frames waiting for the bus, not counting one on the wire. */
  readonly queued: number;
  /** Leaves the bus: queued frames are dropped, nothing more is received. Idempotent. */
  detach(): void;
}

interface QueuedFrame {
  /** What goes on the wire: a copy, so the sender may reuse its buffer right after send. */
  readonly wire: CanFrame;
  /** What the sender passed, handed back by onTransmitted so it can match it by identity. */
  readonly original: CanFrame;
  readonly arbitrationKey: number;
}

/**
 * How a node orders its own frames: `priority` (bxCAN's default, TXFP = 0: the mailbox with the
 * lowest identifier goes first) or `fifo` (TXFP = 1: in the order they were queued). A meter uses
 * FIFO so that its secured messages reach the aggregator in the order of their freshness values.
 */
export type TransmitOrder = 'priority' | 'fifo';

export interface AttachOptions {
  readonly order?: TransmitOrder;
}

interface NodeState {
  readonly node: BusNode;
  /** In transmit order: by arbitration key (FIFO among equal keys), or as queued for `fifo` nodes. */
  queue: QueuedFrame[];
  readonly order: TransmitOrder;
  readonly attachedAtNs: number;
  attached: boolean;
}

interface Transmission {
  readonly sender: NodeState;
  readonly frame: QueuedFrame;
  readonly totalBits: number;
  readonly stuffBits: number;
  readonly startNs: number;
  /** When EOF completes: the moment receivers accept the frame. */
  readonly eofEndNs: number;
  /** After the intermission: the bus is idle again. */
  readonly endNs: number;
}

export class VirtualCanBus {
  readonly #scheduler: EventScheduler;
  #bitrate: number;
  /** In attach order, which also breaks ties between identical arbitration fields. */
  #nodes: NodeState[] = [];
  #queuedTotal = 0;
  #transmission: Transmission | undefined;
  #arbitrationPending = false;

  #sinceNs: number;
  #completedBusyNs = 0;
  #framesDelivered = 0;
  #bitsOnWire = 0;
  #stuffBits = 0;
  #arbitrationsLost = 0;
  #framesDropped = 0;

  constructor(scheduler: EventScheduler, options: VirtualCanBusOptions) {
    assertBitrate(options.bitrate);
    this.#scheduler = scheduler;
    this.#bitrate = options.bitrate;
    this.#sinceNs = scheduler.now;
  }

  get bitrate(): number {
    return this.#bitrate;
  }

  /** Changeable only while no frame (or its intermission) is on the wire. */
  set bitrate(bitrate: number) {
    assertBitrate(bitrate);
    if (this.#transmission) throw new Error('cannot change the bitrate while a frame is on the bus');
    this.#bitrate = bitrate;
  }

  /** A frame or its intermission is on the wire. */
  get busy(): boolean {
    return this.#transmission !== undefined;
  }

  attach(name: string, options: AttachOptions = {}): BusNode {
    const state: NodeState = {
      order: options.order ?? 'priority',
      node: {
        name,
        onReceive: null,
        onTransmitted: null,
        get queued() {
          return state.queue.length;
        },
        send: (frame) => this.#enqueue(state, frame),
        detach: () => this.#detach(state),
      },
      queue: [],
      attachedAtNs: this.#scheduler.now,
      attached: true,
    };
    this.#nodes.push(state);
    return state.node;
  }

  stats(): BusStats {
    const now = this.#scheduler.now;
    const tx = this.#transmission;
    const inFlightNs = tx ? Math.max(0, Math.min(now, tx.endNs) - Math.max(tx.startNs, this.#sinceNs)) : 0;
    const busyNs = this.#completedBusyNs + inFlightNs;
    const elapsedNs = now - this.#sinceNs;
    return {
      framesDelivered: this.#framesDelivered,
      bitsOnWire: this.#bitsOnWire,
      stuffBits: this.#stuffBits,
      busyNs,
      sinceNs: this.#sinceNs,
      elapsedNs,
      load: elapsedNs > 0 ? busyNs / elapsedNs : 0,
      arbitrationsLost: this.#arbitrationsLost,
      framesDropped: this.#framesDropped,
    };
  }

  resetStats(): void {
    this.#sinceNs = this.#scheduler.now;
    this.#completedBusyNs = 0;
    this.#framesDelivered = 0;
    this.#bitsOnWire = 0;
    this.#stuffBits = 0;
    this.#arbitrationsLost = 0;
    this.#framesDropped = 0;
  }

  #enqueue(state: NodeState, frame: CanFrame): void {
    if (!state.attached) throw new Error(`node ${state.node.name} is detached from the bus`);
    validated(frame);
    const queued: QueuedFrame = { wire: copyFrame(frame), original: frame, arbitrationKey: arbitrationKey(frame) };
    const queue = state.queue;
    if (state.order === 'fifo') {
      queue.push(queued);
      this.#queuedTotal++;
      this.#requestArbitration();
      return;
    }
    // Insert after every frame with a key ≤ ours: priority order, FIFO among equal identifiers.
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((queue[middle] as QueuedFrame).arbitrationKey <= queued.arbitrationKey) low = middle + 1;
      else high = middle;
    }
    queue.splice(low, 0, queued);
    this.#queuedTotal++;
    this.#requestArbitration();
  }

  #detach(state: NodeState): void {
    if (!state.attached) return;
    state.attached = false;
    this.#framesDropped += state.queue.length;
    this.#queuedTotal -= state.queue.length;
    state.queue = [];
    this.#nodes = this.#nodes.filter((other) => other !== state);
  }

  /**
   * Arbitration runs as its own event at the current time rather than inline, so every node that
   * queues a frame at this same instant (in events already scheduled for it) takes part.
   */
  #requestArbitration(): void {
    if (this.#transmission || this.#arbitrationPending || this.#queuedTotal === 0) return;
    this.#arbitrationPending = true;
    this.#scheduler.at(this.#scheduler.now, () => this.#arbitrate());
  }

  #arbitrate(): void {
    this.#arbitrationPending = false;
    if (this.#transmission) return;
    let winner: NodeState | undefined;
    let contenders = 0;
    for (const state of this.#nodes) {
      const head = state.queue[0];
      if (!head) continue;
      contenders++;
      // Strictly lower only: with identical fields the earlier-attached node wins. A real bus
      // would see both win and then collide on the data; that belongs to error injection.
      if (!winner || head.arbitrationKey < (winner.queue[0] as QueuedFrame).arbitrationKey) winner = state;
    }
    if (!winner) return;
    this.#arbitrationsLost += contenders - 1;
    const frame = winner.queue.shift() as QueuedFrame;
    this.#queuedTotal--;
    this.#transmit(winner, frame);
  }

  #transmit(sender: NodeState, frame: QueuedFrame): void {
    const { total, stuffBits } = frameOnWireBits(frame.wire);
    const startNs = this.#scheduler.now;
    const tx: Transmission = {
      sender,
      frame,
      totalBits: total,
      stuffBits,
      startNs,
      eofEndNs: startNs + bitsToNs(total - INTERMISSION_BITS, this.#bitrate),
      endNs: startNs + bitsToNs(total, this.#bitrate),
    };
    this.#transmission = tx;
    this.#scheduler.at(tx.eofEndNs, () => this.#completeFrame(tx));
  }

  #completeFrame(tx: Transmission): void {
    // Scheduled before any callback runs, so a throwing listener cannot wedge the bus.
    this.#scheduler.at(tx.endNs, () => this.#endIntermission(tx));
    // Seam for error injection (ACK errors when nobody acks, error frames, bus-off): decide here
    // whether the frame failed, and if so retransmit instead of delivering. For now every frame
    // succeeds, and a node without a listener still acks.
    this.#framesDelivered++;
    this.#bitsOnWire += tx.totalBits;
    this.#stuffBits += tx.stuffBits;
    this.#deliver(tx);
  }

  /** Receivers in attach order, then the sender's onTransmitted; a throwing callback does not stop the others. */
  #deliver(tx: Transmission): void {
    const errors: unknown[] = [];
    // A copy of the list: callbacks may attach or detach nodes.
    for (const state of [...this.#nodes]) {
      // A node that attached mid-frame missed the SOF and cannot have received it.
      if (state === tx.sender || !state.attached || state.attachedAtNs > tx.startNs) continue;
      const onReceive = state.node.onReceive;
      if (!onReceive) continue;
      try {
        onReceive(copyFrame(tx.frame.wire), tx.eofEndNs);
      } catch (error) {
        errors.push(error);
      }
    }
    const onTransmitted = tx.sender.attached ? tx.sender.node.onTransmitted : null;
    if (onTransmitted) {
      try {
        onTransmitted(tx.frame.original, tx.eofEndNs);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} bus listeners threw`);
  }

  #endIntermission(tx: Transmission): void {
    this.#completedBusyNs += tx.endNs - Math.max(tx.startNs, this.#sinceNs);
    this.#transmission = undefined;
    this.#requestArbitration();
  }
}

function copyFrame(frame: CanFrame): CanFrame {
  return { id: frame.id, extended: frame.extended, remote: frame.remote, dlc: frame.dlc, data: frame.data.slice() };
}
