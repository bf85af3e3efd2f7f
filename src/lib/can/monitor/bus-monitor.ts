/**
 * The installer's view of the bus: every frame both ways with what it means, the bus load, error
 * counters and the controller's state, kept from a transport's events (tee.ts puts it beside any
 * transport) and written out as a candump log.
 *
 * Bus load is the on-wire time of the frames seen in the last second (exact stuffed length, the
 * 3-bit intermission included, as the virtual bus counts it) over that second. The adapter sees
 * every frame on the bus, ours included, so this is the load of the bus, not only of our traffic;
 * error frames and frames the adapter dropped are not in it.
 */
import { frameOnWireBits } from '../bit-timing';
import { type CandumpEntry, type Direction, formatCandump } from '../candump';
import { type CanFrame, formatFrame } from '../frame';
import type { BusErrorKind, BusState, LinkStatus, TransportEvent } from '../transport';
import { ProtocolDecoder } from './decode';

export type MonitorEntryKind = 'frame' | 'error' | 'state' | 'warning' | 'status';

export interface MonitorEntry {
  readonly seq: number;
  /** µs since the epoch: the host's clock, refined by the adapter's stamps where it has them. */
  readonly timeUs: number;
  readonly kind: MonitorEntryKind;
  readonly direction: Direction;
  readonly frame?: CanFrame;
  /** The frame in can-utils notation, or the message. */
  readonly text: string;
  /** Protocol meaning, where the frame is Wattwall traffic. */
  readonly summary?: string;
  /** The message a frame completed, decoded. */
  readonly message?: string;
}

export interface MonitorStats {
  readonly rxFrames: number;
  readonly txFrames: number;
  readonly busErrors: number;
  readonly errorsByKind: Readonly<Partial<Record<BusErrorKind, number>>>;
  readonly warnings: number;
  readonly busState: BusState | 'unknown';
  readonly txErrorCounter?: number;
  readonly rxErrorCounter?: number;
  readonly busOffs: number;
  readonly link: LinkStatus;
  readonly linkDetail?: string;
  /** Share of the last window the bus was busy, 0..1. */
  readonly load: number;
  readonly peakLoad: number;
  readonly framesPerSecond: number;
  /** Time of the first and last entry, µs. */
  readonly firstUs?: number;
  readonly lastUs?: number;
}

export interface BusMonitorOptions {
  readonly bitrate: number;
  /** Entries kept (oldest dropped first); the candump export holds the frames among them. */
  readonly capacity?: number;
  /** Window of the load figure, ms. */
  readonly windowMs?: number;
  /** Host clock, ms since the epoch. */
  readonly now?: () => number;
}

interface WindowItem {
  readonly timeUs: number;
  readonly bits: number;
}

/** The device clock is trusted for spacing; it is re-anchored to the host when the two drift apart by more than this. */
const MAX_CLOCK_SKEW_US = 1_000_000;

export class BusMonitor {
  #bitrate: number;
  readonly #capacity: number;
  readonly #windowUs: number;
  readonly #now: () => number;
  #decoder = new ProtocolDecoder();
  #ring: MonitorEntry[] = [];
  #head = 0;
  #seq = 0;
  #window: WindowItem[] = [];
  #windowStart = 0;
  #windowBits = 0;
  #anchorUs: number | undefined;
  #stats: Mutable<Omit<MonitorStats, 'load' | 'framesPerSecond' | 'errorsByKind'>> & { errorsByKind: Partial<Record<BusErrorKind, number>> };
  readonly #listeners = new Set<() => void>();

  constructor(options: BusMonitorOptions) {
    this.#bitrate = options.bitrate;
    this.#capacity = options.capacity ?? 20_000;
    this.#windowUs = (options.windowMs ?? 1000) * 1000;
    this.#now = options.now ?? (() => Date.now());
    this.#stats = BusMonitor.#emptyStats();
  }

  static #emptyStats() {
    return { rxFrames: 0, txFrames: 0, busErrors: 0, errorsByKind: {}, warnings: 0, busState: 'unknown' as BusState | 'unknown', busOffs: 0, link: 'disconnected' as LinkStatus, peakLoad: 0 };
  }

  get bitrate(): number {
    return this.#bitrate;
  }

  set bitrate(bitrate: number) {
    this.#bitrate = bitrate;
  }

  get size(): number {
    return this.#ring.length;
  }

  /** Called whenever something was recorded. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  clear(): void {
    this.#ring = [];
    this.#head = 0;
    this.#window = [];
    this.#windowStart = 0;
    this.#windowBits = 0;
    this.#anchorUs = undefined;
    this.#decoder = new ProtocolDecoder();
    const link = this.#stats.link;
    this.#stats = { ...BusMonitor.#emptyStats(), link };
    this.#changed();
  }

  /** One event from the transport (frames from the bus, status, errors). */
  observe(event: TransportEvent): void {
    const hostUs = this.#now() * 1000;
    switch (event.type) {
      case 'frame': {
        const timeUs = this.#frameTime(event.receivedAt, event.deviceTimeUs);
        this.#frame(event.frame, event.direction ?? 'rx', timeUs);
        break;
      }
      case 'status':
        this.#stats.link = event.status;
        this.#stats.linkDetail = event.detail;
        if (event.status !== 'connected') this.#anchorUs = undefined;
        this.#add({ kind: 'status', direction: 'rx', timeUs: hostUs, text: `${event.status}${event.detail ? `: ${event.detail}` : event.reason ? ` (${event.reason})` : ''}` });
        break;
      case 'bus-state': {
        const changed = event.state !== this.#stats.busState;
        this.#stats.busState = event.state;
        if (event.txErrors !== undefined) this.#stats.txErrorCounter = event.txErrors;
        if (event.rxErrors !== undefined) this.#stats.rxErrorCounter = event.rxErrors;
        if (changed) {
          if (event.state === 'bus-off') this.#stats.busOffs++;
          const counters = event.txErrors !== undefined ? ` (TEC ${event.txErrors}, REC ${event.rxErrors ?? '?'})` : '';
          this.#add({ kind: 'state', direction: 'rx', timeUs: event.at * 1000, text: `bus ${event.state}${counters}` });
        } else this.#changed();
        break;
      }
      case 'bus-error':
        this.#stats.busErrors++;
        this.#stats.errorsByKind[event.kind] = (this.#stats.errorsByKind[event.kind] ?? 0) + 1;
        this.#add({ kind: 'error', direction: 'rx', timeUs: event.at * 1000, text: `${event.kind}: ${event.detail}` });
        break;
      case 'warning':
        this.#stats.warnings++;
        this.#add({ kind: 'warning', direction: 'rx', timeUs: hostUs, text: event.message });
        break;
    }
  }

  /** A frame the app handed to the adapter's driver, at host time `atMs`. */
  transmitted(frame: CanFrame, atMs: number): void {
    this.#frame(frame, 'tx', atMs * 1000);
  }

  #frameTime(receivedAtMs: number, deviceTimeUs: number | undefined): number {
    const hostUs = receivedAtMs * 1000;
    if (deviceTimeUs === undefined) return hostUs;
    if (this.#anchorUs === undefined || Math.abs(this.#anchorUs + deviceTimeUs - hostUs) > MAX_CLOCK_SKEW_US) this.#anchorUs = hostUs - deviceTimeUs;
    return this.#anchorUs + deviceTimeUs;
  }

  #frame(frame: CanFrame, direction: Direction, timeUs: number): void {
    if (direction === 'tx') this.#stats.txFrames++;
    else this.#stats.rxFrames++;
    const bits = frameOnWireBits(frame).total;
    this.#addToWindow(timeUs, bits);
    const decoded = this.#decoder.decode(frame, timeUs / 1000);
    this.#add({ kind: 'frame', direction, timeUs, frame, text: formatFrame(frame), summary: decoded.summary, ...(decoded.message ? { message: decoded.message } : {}) });
  }

  #addToWindow(timeUs: number, bits: number): void {
    this.#window.push({ timeUs, bits });
    this.#windowBits += bits;
    this.#evict(timeUs);
    const load = this.#windowBits / (this.#bitrate * (this.#windowUs / 1e6));
    // Only a full window makes a peak: the first frames alone would read as any load at all.
    const first = this.#stats.firstUs;
    if (first !== undefined && timeUs - first >= this.#windowUs && load > this.#stats.peakLoad) this.#stats.peakLoad = load;
  }

  #evict(nowUs: number): void {
    const limit = nowUs - this.#windowUs;
    while (this.#windowStart < this.#window.length && (this.#window[this.#windowStart] as WindowItem).timeUs <= limit) {
      this.#windowBits -= (this.#window[this.#windowStart] as WindowItem).bits;
      this.#windowStart++;
    }
    if (this.#windowStart > 4096) {
      this.#window = this.#window.slice(this.#windowStart);
      this.#windowStart = 0;
    }
  }

  #add(entry: Omit<MonitorEntry, 'seq'>): void {
    const full: MonitorEntry = { seq: this.#seq++, ...entry };
    // Status and warnings carry the host's time, which means nothing in a replay: they set no bounds.
    if (entry.kind !== 'status' && entry.kind !== 'warning') {
      if (this.#stats.firstUs === undefined || entry.timeUs < this.#stats.firstUs) this.#stats.firstUs = entry.timeUs;
      if (this.#stats.lastUs === undefined || entry.timeUs > this.#stats.lastUs) this.#stats.lastUs = entry.timeUs;
    }
    if (this.#ring.length < this.#capacity) this.#ring.push(full);
    else {
      this.#ring[this.#head] = full;
      this.#head = (this.#head + 1) % this.#capacity;
    }
    this.#changed();
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Entries oldest first; `limit` keeps the newest that many. */
  entries(limit = Infinity): MonitorEntry[] {
    const ordered = this.#head === 0 ? this.#ring.slice() : [...this.#ring.slice(this.#head), ...this.#ring.slice(0, this.#head)];
    return limit >= ordered.length ? ordered : ordered.slice(ordered.length - limit);
  }

  /** Figures as of `nowUs` (default: the host clock; a replay passes the time of its last entry). */
  stats(nowUs = this.#now() * 1000): MonitorStats {
    this.#evict(nowUs);
    const seconds = this.#windowUs / 1e6;
    const frames = this.#window.length - this.#windowStart;
    return { ...this.#stats, errorsByKind: { ...this.#stats.errorsByKind }, load: this.#windowBits / (this.#bitrate * seconds), framesPerSecond: frames / seconds };
  }

  /** The frames kept, as a candump -L log (error events are listed in the monitor, not written). */
  toCandump(iface = 'can0', withDirection = false): string {
    const frames: CandumpEntry[] = [];
    for (const entry of this.entries()) {
      if (entry.kind === 'frame' && entry.frame) frames.push({ kind: 'frame', timeUs: entry.timeUs, iface, frame: entry.frame, direction: entry.direction });
    }
    // Host-stamped and adapter-stamped frames may interleave slightly out of order; a log is chronological.
    frames.sort((a, b) => a.timeUs - b.timeUs);
    return formatCandump(frames, withDirection);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
