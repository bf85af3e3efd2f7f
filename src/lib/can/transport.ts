import type { CanFrame } from './frame';

/**
 * Link state of an adapter, as the screen shows it.
 * - `connecting`: the device is being opened and configured;
 * - `connected`: frames flow;
 * - `disconnected`: closed by the user, or the device went away (see `reason`).
 */
export type LinkStatus = 'connecting' | 'connected' | 'disconnected';

export type DisconnectReason = 'user' | 'device-lost' | 'read-error' | 'write-error';

/** What comes up from an adapter: frames and, in band, link status and adapter-level complaints. */
export type TransportEvent =
  | { readonly type: 'frame'; readonly frame: CanFrame; readonly receivedAt: number }
  | { readonly type: 'status'; readonly status: LinkStatus; readonly reason?: DisconnectReason; readonly detail?: string }
  /** Something the adapter said or sent that is not a frame: a refused command, garbage bytes. Never fatal. */
  | { readonly type: 'warning'; readonly message: string };

/**
 * A CAN adapter seen as two streams, after meshtastic/web's transports: every driver (slcan over
 * Web Serial, gs_usb over WebUSB, the demo bus) offers exactly this, and the contract tests hold
 * each of them to it.
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
