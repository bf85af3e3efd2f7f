import type { CanFrame } from './frame';

/**
 * Link state of an adapter, as the screen shows it.
 * - `connecting`: the device is being opened and configured;
 * - `connected`: frames flow;
 * - `disconnected`: closed by the user, or the device went away (see `reason`).
 */
export type LinkStatus = 'connecting' | 'connected' | 'disconnected';

export type DisconnectReason = 'user' | 'device-lost' | 'read-error' | 'write-error';

/**
 * Fault confinement state of the adapter's CAN controller (ISO 11898-1): error counters below 96,
 * at 96 or more (warning), at 128 or more (passive), transmit counter past 255 (bus-off), or the
 * controller is not on the bus at all (stopped).
 */
export type BusState = 'error-active' | 'error-warning' | 'error-passive' | 'bus-off' | 'stopped';

/** What kind of trouble an adapter reported about the bus or itself. */
export type BusErrorKind =
  /** Nobody acknowledged a frame: the adapter is alone on the bus, or at the wrong bit rate. */
  | 'ack'
  | 'bit'
  | 'stuff'
  | 'form'
  | 'crc'
  /** A protocol error the adapter did not classify. */
  | 'bus-error'
  /** The adapter dropped received frames: its buffer or the USB link could not keep up. */
  | 'rx-overflow'
  /** The adapter dropped frames to transmit. */
  | 'tx-overflow'
  /** The adapter refused a frame to transmit (BELL to a transmit command, no echo). */
  | 'tx-refused'
  /** Something else the adapter flagged. */
  | 'other';

/** What comes up from an adapter: frames and, in band, link status, bus state and complaints. */
export type TransportEvent =
  | {
      readonly type: 'frame';
      readonly frame: CanFrame;
      /** Host wall clock at arrival, ms since the epoch (or the injected clock's origin). */
      readonly receivedAt: number;
      /**
       * The adapter's own receive time in µs, where the firmware stamps frames, unwrapped so it
       * only grows; its origin is arbitrary (the first stamped frame of the session, or boot).
       */
      readonly deviceTimeUs?: number;
      /** 'tx': a frame this host sent, reported back (a replayed capture's own frames); default 'rx'. */
      readonly direction?: 'rx' | 'tx';
    }
  | { readonly type: 'status'; readonly status: LinkStatus; readonly reason?: DisconnectReason; readonly detail?: string }
  /** The controller's fault confinement state changed, or its error counters were read. */
  | { readonly type: 'bus-state'; readonly state: BusState; readonly txErrors?: number; readonly rxErrors?: number; readonly at: number }
  /** An error the adapter reported: an error frame, a status flag, a refused transmission. */
  | { readonly type: 'bus-error'; readonly kind: BusErrorKind; readonly detail: string; readonly at: number }
  /** Something the adapter said or sent that is not a frame: a refused command, garbage bytes. Never fatal. */
  | { readonly type: 'warning'; readonly message: string };

/**
 * A CAN adapter seen as two streams, after meshtastic/web's transports: every driver (slcan over
 * Web Serial or WebUSB, gs_usb over WebUSB, the demo bus) offers exactly this, and the contract
 * tests hold each of them to it.
 */
export interface CanTransport {
  /** Human-readable name of the adapter, for the link indicator. */
  readonly label: string;
  /** Frames and status from the bus. Ends after the final `disconnected` status. */
  readonly fromBus: ReadableStream<TransportEvent>;
  /** Frames to the bus. Writes after a disconnect reject. */
  readonly toBus: WritableStream<CanFrame>;
  /** Stops the adapter, drains what it can and closes the device. Idempotent. */
  close(): Promise<void>;
}

/** Standard CAN bit rates the adapters offer, in bit/s. */
export const BIT_RATES = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000] as const;
export type BitRate = (typeof BIT_RATES)[number];

/** An AdapterOpenError carries a message written for the person at the screen. */
export class AdapterOpenError extends Error {
  override readonly name = 'AdapterOpenError';
  constructor(
    readonly userMessage: string,
    options?: { cause?: unknown },
  ) {
    super(userMessage, options);
  }
}
