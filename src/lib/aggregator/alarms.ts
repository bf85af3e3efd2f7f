/**
 * Alarms the screen must show: a burst of rejected records (someone forging or replaying), a burst
 * of records nobody asked for (forged requests), a silent meter, the adapter gone, storage full.
 * Pure: facts come in with their time, the active alarms come out; `tick` clears stale ones.
 */
import type { RejectionReason } from '../meter/link';

export type AlarmKind = 'over-contract' | 'rejected-burst' | 'forged-requests' | 'meter-silent' | 'adapter-lost' | 'storage-full' | 'storage-error' | 'site-offline';

export interface Alarm {
  /** `kind` or `kind:node`: one alarm of a kind per meter. */
  readonly id: string;
  readonly kind: AlarmKind;
  readonly node: number | undefined;
  /** When it was raised, ms. */
  readonly since: number;
  /** Last time its cause was seen, ms. */
  readonly lastSeen: number;
  /** Occurrences since raised (rejections, unsolicited records). */
  readonly count: number;
  readonly detail: string;
}

export interface AlarmOptions {
  /** Rejections within `burstWindowMs` that raise the alarm. */
  readonly rejectionBurst?: number;
  /** Records nobody asked for within `burstWindowMs` that raise the alarm. */
  readonly unsolicitedBurst?: number;
  readonly burstWindowMs?: number;
  /** A burst alarm clears after this long without its cause. */
  readonly clearAfterMs?: number;
}

export class AlarmMonitor {
  readonly #options: Required<AlarmOptions>;
  readonly #active = new Map<string, Alarm>();
  readonly #recent = new Map<string, number[]>();
  readonly #listeners = new Set<(alarms: readonly Alarm[]) => void>();

  constructor(options: AlarmOptions = {}) {
    this.#options = { rejectionBurst: 5, unsolicitedBurst: 4, burstWindowMs: 10_000, clearAfterMs: 60_000, ...options };
  }

  get active(): Alarm[] {
    return [...this.#active.values()].sort((a, b) => a.since - b.since || a.id.localeCompare(b.id));
  }

  subscribe(listener: (alarms: readonly Alarm[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  rejected(node: number, reason: RejectionReason, at: number): void {
    this.#burst('rejected-burst', node, at, this.#options.rejectionBurst, `records from meter ${node} failing verification (latest: ${reason})`);
  }

  unsolicited(node: number, at: number): void {
    this.#burst('forged-requests', node, at, this.#options.unsolicitedBurst, `meter ${node} answers requests the aggregator did not send: forged remote frames on the bus`);
  }

  silent(node: number, silent: boolean, at: number): void {
    if (silent) this.#raise('meter-silent', node, at, `meter ${node} does not answer`);
    else this.#clear(`meter-silent:${node}`);
  }

  /** The adapter went away (not closed by the user), or came back. */
  adapter(lost: boolean, at: number, detail = 'the USB adapter is gone'): void {
    if (lost) this.#raise('adapter-lost', undefined, at, detail);
    else this.#clear('adapter-lost');
  }

  /** A remote viewer: the site it shows is gone from the broker (or the broker from the viewer), or back. */
  remoteSite(offline: boolean, at: number, detail: string): void {
    if (offline) this.#raise('site-offline', undefined, at, detail);
    else this.#clear('site-offline');
  }

  storage(state: 'ok' | 'full' | 'error', at: number, detail = ''): void {
    if (state === 'full') this.#raise('storage-full', undefined, at, detail || 'the browser refused to store more: the oldest full-rate data is being pruned');
    else this.#clear('storage-full');
    if (state === 'error') this.#raise('storage-error', undefined, at, detail || 'the history could not be written');
    else this.#clear('storage-error');
  }

  /**
   * The site's import against what its connection tolerates (the contracted power plus the
   * tolerance the meter allows without limit: 10 % in Italy). Raised above it, cleared once the
   * import is back under the contracted power itself, so a load hovering at the edge does not
   * blink the alarm. The energy manager's guard acts long before the meter would trip.
   */
  gridPower(watts: number, contractedW: number, at: number, tolerance = 0.1): void {
    const active = this.#active.has('over-contract');
    const limit = contractedW * (1 + tolerance);
    const detail = `the site draws ${Math.round(watts)} W; its ${Math.round(contractedW)} W contract tolerates ${Math.round(limit)} W`;
    if (watts > limit || (active && watts > contractedW)) this.#raise('over-contract', undefined, at, detail);
    else if (active) this.#clear('over-contract');
  }

  /** A meter left the registry, or the bus changed: its alarms go. */
  forget(node: number): void {
    for (const id of [...this.#active.keys()]) if (id.endsWith(`:${node}`)) this.#clear(id);
  }

  clearAll(): void {
    this.#active.clear();
    this.#recent.clear();
    this.#emit();
  }

  /** Clears burst alarms whose cause has not been seen for a while. */
  tick(at: number): void {
    let changed = false;
    for (const alarm of this.#active.values()) {
      if ((alarm.kind === 'rejected-burst' || alarm.kind === 'forged-requests') && at - alarm.lastSeen >= this.#options.clearAfterMs) {
        this.#active.delete(alarm.id);
        changed = true;
      }
    }
    if (changed) this.#emit();
  }

  #burst(kind: AlarmKind, node: number, at: number, threshold: number, detail: string): void {
    const id = `${kind}:${node}`;
    const existing = this.#active.get(id);
    if (existing) {
      this.#active.set(id, { ...existing, lastSeen: at, count: existing.count + 1, detail });
      this.#emit();
      return;
    }
    const window = (this.#recent.get(id) ?? []).filter((t) => at - t < this.#options.burstWindowMs);
    window.push(at);
    this.#recent.set(id, window);
    if (window.length >= threshold) {
      this.#recent.delete(id);
      this.#active.set(id, { id, kind, node, since: window[0] as number, lastSeen: at, count: window.length, detail });
      this.#emit();
    }
  }

  #raise(kind: AlarmKind, node: number | undefined, at: number, detail: string): void {
    const id = node === undefined ? kind : `${kind}:${node}`;
    const existing = this.#active.get(id);
    this.#active.set(id, existing ? { ...existing, lastSeen: at, detail } : { id, kind, node, since: at, lastSeen: at, count: 1, detail });
    if (!existing || existing.detail !== detail) this.#emit();
  }

  #clear(id: string): void {
    if (this.#active.delete(id)) this.#emit();
  }

  #emit(): void {
    const alarms = this.active;
    for (const l of this.#listeners) l(alarms);
  }
}
