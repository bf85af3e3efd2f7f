/**
 * What the bus monitor screen shows: the newest frames and events, the figures, and whether it
 * shows the live bus or an imported capture. The work is in src/lib/can/monitor; this class
 * only refreshes a view of it a few times a second (a loaded bus makes thousands of frames a
 * second, which no screen needs to redraw one by one).
 */
import { parseCandump, type CandumpProblem } from '../lib/can/candump';
import { BusMonitor, type MonitorEntry, type MonitorStats } from '../lib/can/monitor/bus-monitor';
import { teeToMonitor } from '../lib/can/monitor/tee';
import { replayTransport } from '../lib/can/replay';
import type { CanTransport } from '../lib/can/transport';

/** What an import brought: the screen words it. */
export interface ImportResult {
  readonly name: string;
  readonly entries: number;
  readonly problems: readonly CandumpProblem[];
}

export type MonitorFilter = 'all' | 'frames' | 'protocol' | 'errors';

/** Rows drawn at most; the full history (20 000 entries) stays in the monitor for export. */
const ROWS = 300;
const REFRESH_MS = 250;

export class BusMonitorState {
  visible = $state(false);
  paused = $state(false);
  filter = $state<MonitorFilter>('all');
  rows = $state.raw<MonitorEntry[]>([]);
  stats = $state.raw<MonitorStats | undefined>(undefined);
  /** Name of the imported capture shown instead of the live bus. */
  capture = $state<string | undefined>(undefined);
  imported = $state.raw<ImportResult | undefined>(undefined);

  readonly live: BusMonitor;
  #captured: BusMonitor | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #now: () => number;

  constructor(options: { bitrate: number; now?: () => number }) {
    this.#now = options.now ?? (() => Date.now());
    this.live = new BusMonitor({ bitrate: options.bitrate, now: this.#now });
  }

  /** The monitor the screen shows now. */
  get current(): BusMonitor {
    return this.#captured ?? this.live;
  }

  set bitrate(bitrate: number) {
    this.live.bitrate = bitrate;
  }

  /** Puts the live monitor beside a transport (every transport the app uses goes through here). */
  tee(transport: CanTransport): CanTransport {
    return teeToMonitor(transport, this.live, this.#now);
  }

  /** The screen shows the monitor: refresh its view a few times a second. */
  show(): void {
    this.visible = true;
    this.refresh();
    this.#timer ??= setInterval(() => this.refresh(), REFRESH_MS);
  }

  hide(): void {
    this.visible = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  refresh(): void {
    if (this.paused && this.rows.length > 0) return;
    const monitor = this.current;
    const entries = monitor.entries();
    const wanted = entries.filter((e) => this.#passes(e));
    this.rows = wanted.slice(Math.max(0, wanted.length - ROWS));
    // A capture is judged at its own end, the live bus now.
    this.stats = this.#captured ? monitor.stats(monitor.stats(0).lastUs ?? 0) : monitor.stats();
  }

  #passes(entry: MonitorEntry): boolean {
    switch (this.filter) {
      case 'all':
        return true;
      case 'frames':
        return entry.kind === 'frame';
      case 'protocol':
        return entry.kind === 'frame' && entry.summary !== undefined && !entry.summary.includes('not Wattwall');
      case 'errors':
        return entry.kind === 'error' || entry.kind === 'state' || entry.kind === 'warning';
    }
  }

  setFilter(filter: MonitorFilter): void {
    this.filter = filter;
    this.refresh();
  }

  togglePause(): void {
    this.paused = !this.paused;
    this.refresh();
  }

  clear(): void {
    this.current.clear();
    this.refresh();
  }

  /** The monitor's frames as a candump -L log, with a file name that sorts by time. */
  exportCandump(): { text: string; filename: string } {
    const stamp = new Date(this.#now()).toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
    return { text: this.current.toCandump(), filename: `wattwall-${stamp}.log` };
  }

  /** Replays a candump log into a monitor of its own and shows it; the live monitor keeps recording. */
  async importCandump(text: string, name: string): Promise<void> {
    const { entries, problems } = parseCandump(text);
    this.imported = { name, entries: entries.length, problems };
    if (entries.length === 0) return;
    const captured = new BusMonitor({ bitrate: this.live.bitrate, capacity: Math.max(20_000, entries.length + 16), now: () => 0 });
    const replay = teeToMonitor(replayTransport(entries, { label: name }), captured, () => 0);
    for await (const _event of replay.fromBus) {
      // The tee records each event as it passes.
    }
    this.#captured = captured;
    this.capture = name;
    this.refresh();
  }

  backToLive(): void {
    this.#captured = undefined;
    this.capture = undefined;
    this.imported = undefined;
    this.refresh();
  }
}
