/**
 * A remote viewer's replica of a site: what the broker brings (the registry, every slot's energy,
 * the events, the site's tariff) and what the site answers when asked (the slots and events the
 * viewer missed while it was closed, the spot prices) are written into a history database of the
 * same schema as the site's own. The viewer's screens then read it as they read a local site, and
 * keep working offline with what was mirrored. A slot message is the slot's value so far, so
 * writing it again replaces: nothing is counted twice, however often it arrives.
 */
import { errorMessage } from '../errors';
import type { SlotEnergy } from '../store/queries';
import type { EnergyDay, EventRow, HistoryDb, MeterInfo } from '../store/schema';
import { SlotQuality } from '../store/schema';
import { type PriceSlot, SLOT_MS } from '../tariff/slot';
import type { RemoteMeterInfo, RemoteSiteSettings } from './protocol';
import type { RemoteViewer } from './viewer';

const DAY_MS = 86_400_000;
const SLOTS_PER_DAY = DAY_MS / SLOT_MS;
/** Where the replica had got to (the newest slot start it holds), in the settings store. */
const CURSOR_KEY = 'remote-mirror';
/** How far back a new replica asks for history: the current and the previous billing month. */
export const FIRST_MIRROR_MS = 62 * DAY_MS;
/**
 * One history request covers one meter and one day at most: small answers travel far faster than
 * one large one (Mosquitto over WebSockets: 32 meter-days in 1.3 s as 32 answers, 7 s as one).
 */
const REQUEST_SPAN_MS = DAY_MS;

export interface MirrorSink {
  readonly db: HistoryDb;
  /** The registry entry of a meter as the site named it. */
  adoptMeter(info: MeterInfo): void;
  /** Rows were written: the screens read again. */
  written(writes: number): void;
}

export interface MirrorOptions {
  readonly now?: () => number;
  /** The site's spot prices for the replica's price cache. */
  readonly prices?: (slots: readonly PriceSlot[]) => Promise<void>;
  readonly settings?: (settings: RemoteSiteSettings) => void;
  readonly problem?: (message: string) => void;
}

interface MirrorCursor {
  /** Start of the newest slot held, ms. */
  readonly newestSlot: number;
}

export class RemoteMirror {
  readonly #sink: MirrorSink;
  readonly #viewer: RemoteViewer;
  readonly #options: MirrorOptions;
  readonly #now: () => number;
  readonly #pendingSlots = new Map<string, SlotEnergy>();
  #writing: Promise<void> = Promise.resolve();
  #scheduled = false;
  #newestSlot = -Infinity;
  #off: (() => void) | undefined;

  constructor(sink: MirrorSink, viewer: RemoteViewer, options: MirrorOptions = {}) {
    this.#sink = sink;
    this.#viewer = viewer;
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
  }

  /** Follows the viewer: everything it receives from now on goes into the replica. */
  async start(): Promise<void> {
    const cursor = (await this.#sink.db.get('settings', CURSOR_KEY)) as MirrorCursor | undefined;
    if (cursor && Number.isFinite(cursor.newestSlot)) this.#newestSlot = cursor.newestSlot;
    this.#off = this.#viewer.subscribe({
      meters: (meters) => {
        for (const m of meters) this.#sink.adoptMeter(meterInfo(m, this.#now()));
      },
      slot: (slot) => {
        this.#pendingSlots.set(`${slot.meterId}|${slot.start}`, slot);
        this.#schedule();
      },
      event: (event) => void this.#enqueue(() => this.#putEvents([{ uid: event.uid, seq: event.seq, kind: event.kind, start: event.start, durationMs: event.durationMs, extremeV: event.extremeV }])),
      settings: (settings) => this.#options.settings?.(settings),
    });
    for (const m of this.#viewer.meters) this.#sink.adoptMeter(meterInfo(m, this.#now()));
    if (this.#viewer.settings) this.#options.settings?.(this.#viewer.settings);
  }

  stop(): void {
    this.#off?.();
    this.#off = undefined;
  }

  /** Every write asked for so far is in the database. */
  async idle(): Promise<void> {
    while (this.#scheduled || this.#pendingSlots.size > 0) {
      this.#flushSlots();
      await this.#writing;
    }
    await this.#writing;
  }

  /**
   * Asks the site for what the replica lacks: every meter's slots and the events since the newest
   * slot it holds (a new replica: the last two months), and the spot prices of that span. Slots
   * the live stream already brought are written again with the site's value: the same, or newer.
   */
  async catchUp(): Promise<{ slots: number; events: number; prices: number }> {
    const now = this.#now();
    const uids = this.#viewer.meters.map((m) => m.uid);
    const from = Number.isFinite(this.#newestSlot) ? Math.max(this.#newestSlot, now - FIRST_MIRROR_MS) : now - FIRST_MIRROR_MS;
    const start = Math.floor(from / SLOT_MS) * SLOT_MS;
    const end = now + SLOT_MS;
    let slots = 0;
    let events = 0;
    let prices = 0;
    for (let a = start; a < end; a += REQUEST_SPAN_MS) {
      const b = Math.min(end, a + REQUEST_SPAN_MS);
      if (uids.length > 0) {
        const answers = await Promise.all(uids.map((uid) => this.#viewer.slots([uid], a, b)));
        for (const got of answers) {
          for (const s of got) this.#pendingSlots.set(`${s.meterId}|${s.start}`, s);
          slots += got.length;
        }
        this.#flushSlots();
      }
      const evs = await this.#viewer.events(a, b);
      await this.#enqueue(() => this.#putEvents(evs));
      events += evs.length;
      if (this.#options.prices) {
        const p = await this.#viewer.prices(a, b);
        await this.#options.prices(p);
        prices += p.length;
      }
    }
    await this.idle();
    return { slots, events, prices };
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Slots come in bursts (a catch-up after an outage): one transaction for a burst.
    setTimeout(() => this.#flushSlots(), 50);
  }

  #flushSlots(): void {
    this.#scheduled = false;
    if (this.#pendingSlots.size === 0) return;
    const batch = [...this.#pendingSlots.values()];
    this.#pendingSlots.clear();
    void this.#enqueue(() => this.#putSlots(batch));
  }

  #enqueue(job: () => Promise<number>): Promise<void> {
    this.#writing = this.#writing
      .then(job)
      .then((writes) => {
        if (writes > 0) this.#sink.written(writes);
      })
      .catch((error: unknown) => this.#options.problem?.(`the replica could not be written: ${errorMessage(error)}`));
    return this.#writing;
  }

  async #putSlots(slots: readonly SlotEnergy[]): Promise<number> {
    const byDay = new Map<string, SlotEnergy[]>();
    for (const s of slots) {
      const key = `${s.meterId}|${Math.floor(s.start / DAY_MS) * DAY_MS}`;
      const list = byDay.get(key);
      if (list) list.push(s);
      else byDay.set(key, [s]);
    }
    const tx = this.#sink.db.transaction(['energy', 'settings'], 'readwrite');
    const energy = tx.objectStore('energy');
    let newest = this.#newestSlot;
    for (const [key, list] of byDay) {
      const [uid, dayText] = key.split('|') as [string, string];
      const dayStart = Number(dayText);
      const stored = await energy.get([uid, dayStart]);
      const day: EnergyDay = stored ?? { uid, start: dayStart, importMwh: new Float64Array(SLOTS_PER_DAY), exportMwh: new Float64Array(SLOTS_PER_DAY), quality: new Uint8Array(SLOTS_PER_DAY) };
      for (const s of list) {
        const k = (s.start - dayStart) / SLOT_MS;
        day.importMwh[k] = s.importMwh;
        day.exportMwh[k] = s.exportMwh;
        day.quality[k] = SlotQuality.MEASURED;
        newest = Math.max(newest, s.start);
      }
      await energy.put(day);
    }
    if (newest > this.#newestSlot) {
      this.#newestSlot = newest;
      await tx.objectStore('settings').put({ newestSlot: newest } satisfies MirrorCursor, CURSOR_KEY);
    }
    await tx.done;
    return byDay.size;
  }

  async #putEvents(events: readonly EventRow[]): Promise<number> {
    if (events.length === 0) return 0;
    const tx = this.#sink.db.transaction('events', 'readwrite');
    for (const e of events) await tx.store.put(e);
    await tx.done;
    return events.length;
  }
}

function meterInfo(m: RemoteMeterInfo, now: number): MeterInfo {
  return { uid: m.uid, node: m.node, name: m.name, kind: m.kind, priority: m.priority, gridPoint: m.gridPoint, interruptible: false, firmware: '', firstSeen: now, lastSeen: now };
}
