/**
 * What the page and the demo bus's worker say to each other. The worker runs the simulated
 * meters, the virtual bus and the emulated slcan adapter; the page gets the adapter's serial port
 * as bytes, and opens it with its real slcan driver as it would a USB adapter.
 */
import type { MeterKind } from '../store/schema';

export interface DemoStart {
  readonly bitrate: number;
  readonly siteKey: Uint8Array;
  /** The hour of day the household starts at (the roof's output follows it). */
  readonly startHour: number;
  /** The meters' flash as the page kept it: node → bytes. */
  readonly nv: readonly (readonly [number, Uint8Array])[];
}

export interface DemoMeterInfo {
  readonly nodeId: number;
  readonly name: string;
  readonly kind: MeterKind;
}

export type PageToDemo =
  | ({ readonly kind: 'start' } & DemoStart)
  | { readonly kind: 'open'; readonly baudRate: number }
  /** The page has room for `room` more bytes: the worker sends what the adapter has queued, up to that. */
  | { readonly kind: 'pull'; readonly room: number }
  | { readonly kind: 'write'; readonly bytes: Uint8Array }
  | { readonly kind: 'close' };

export type DemoToPage =
  | { readonly kind: 'ready'; readonly meters: readonly DemoMeterInfo[] }
  | { readonly kind: 'opened' }
  | { readonly kind: 'data'; readonly bytes: Uint8Array }
  /** The adapter's serial stream ended (or failed): the page's readable ends with it. */
  | { readonly kind: 'ended'; readonly error?: string }
  | { readonly kind: 'closed' }
  /** A meter wrote its flash: the page keeps it for the next visit. */
  | { readonly kind: 'nv'; readonly nodeId: number; readonly bytes: Uint8Array }
  /** A request failed (start or open): what went wrong, in words. */
  | { readonly kind: 'failed'; readonly request: 'start' | 'open' | 'close'; readonly error: string };

/** Either end of the link: a Worker, the worker's global scope, or a MessagePort in tests. */
export interface DemoEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  /** A MessagePort delivers nothing until started. */
  start?(): void;
}
