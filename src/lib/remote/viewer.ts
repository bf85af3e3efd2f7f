/**
 * The remote side: the same PWA, elsewhere, following a site through the broker. It lists the
 * sites under a prefix, follows one (meters, live readings, slot energy, events, whether the site
 * is online), asks it for history, and sends it signed commands.
 */
import type { Series, SlotEnergy } from '../store/queries';
import type { EventRow } from '../store/schema';
import type { BrokerClient } from './broker';
import { type CommandResult, type RemoteAction, signCommand, type ViewerCredential, verifyResult } from './command-auth';
import type { PriceSlot } from '../tariff/slot';
import { type EventMessage, type LiveReading, parseJson, readAnnouncement, readCost, readEventMessage, readLive, readMeterInfo, readRemoteSettings, readSlot, RemoteMessageError, type RemoteMeterInfo, type RemoteSiteSettings, type SiteAnnouncement, Topics } from './protocol';
import { type RpcCall, type RpcResponse, readEventsJson, readPricesJson, readSeriesJson, readSlotsJson, seriesFromJson, signRequest, verifyResponse } from './rpc';

export interface ViewerEvents {
  sites?(sites: ReadonlyMap<string, SiteAnnouncement>): void;
  meters?(meters: readonly RemoteMeterInfo[]): void;
  live?(uid: string, reading: LiveReading): void;
  settings?(settings: RemoteSiteSettings): void;
  slot?(slot: SlotEnergy): void;
  event?(event: EventMessage): void;
  availability?(online: boolean): void;
  problem?(message: string): void;
}

/** Persists the viewer's command counter, so a restarted viewer never reuses a seq. */
export interface SeqStore {
  load(): number;
  save(seq: number): void;
}

export class RemoteViewer {
  readonly #broker: BrokerClient;
  readonly #prefix: string;
  readonly #sites = new Map<string, SiteAnnouncement>();
  readonly #meters = new Map<string, RemoteMeterInfo>();
  readonly #live = new Map<string, LiveReading>();
  #settings: RemoteSiteSettings | undefined;
  readonly #slots = new Map<string, SlotEnergy>();
  readonly #events = new Map<string, EventMessage>();
  readonly #listeners = new Set<ViewerEvents>();
  readonly #pending = new Map<string, { resolve: (r: RpcResponse) => void; timer: ReturnType<typeof setTimeout> }>();
  readonly #commands = new Map<number, { resolve: (r: CommandResult) => void; timer: ReturnType<typeof setTimeout> }>();
  #topics: Topics | undefined;
  #credential: ViewerCredential | undefined;
  #seqStore: SeqStore | undefined;
  #online = false;
  #nextId = 0;
  readonly #off: () => void;
  readonly #now: () => number;

  constructor(broker: BrokerClient, prefix: string, now: () => number = () => Date.now()) {
    this.#broker = broker;
    this.#prefix = prefix;
    this.#now = now;
    this.#off = broker.onMessage((topic, payload) => this.#message(topic, payload));
  }

  get sites(): ReadonlyMap<string, SiteAnnouncement> {
    return this.#sites;
  }

  get meters(): RemoteMeterInfo[] {
    return [...this.#meters.values()].sort((a, b) => a.node - b.node);
  }

  liveOf(uid: string): LiveReading | undefined {
    return this.#live.get(uid);
  }

  /** The site's contracted power and tariff, once its retained settings arrived. */
  get settings(): RemoteSiteSettings | undefined {
    return this.#settings;
  }

  /** The site's announcement, once it arrived (with listSites, or with the site opened). */
  get announcement(): SiteAnnouncement | undefined {
    const site = this.#topics?.site;
    return site === undefined ? undefined : this.#sites.get(site);
  }

  get online(): boolean {
    return this.#online;
  }

  get site(): string | undefined {
    return this.#topics?.site;
  }

  /** Slots received live since the site was opened, for one meter. */
  slotsOf(uid: string): SlotEnergy[] {
    return [...this.#slots.values()].filter((s) => s.meterId === uid).sort((a, b) => a.start - b.start);
  }

  subscribe(listener: ViewerEvents): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Lists the sites that announce themselves under the prefix. */
  async listSites(): Promise<void> {
    await this.#broker.subscribe(Topics.allSites(this.#prefix), 1);
  }

  /** Follows one site; with a credential (its pairing) history and commands work too. */
  async open(site: string, credential?: ViewerCredential, seqStore?: SeqStore): Promise<void> {
    this.#topics = new Topics(this.#prefix, site);
    this.#credential = credential;
    this.#seqStore = seqStore;
    this.#meters.clear();
    this.#live.clear();
    this.#settings = undefined;
    this.#online = false;
    this.#slots.clear();
    this.#events.clear();
    await this.#broker.subscribe(this.#topics.online, 1);
    await this.#broker.subscribe(this.#topics.settings, 1);
    await this.#broker.subscribe(`${this.#topics.base}/availability`, 1);
    await this.#broker.subscribe(`${this.#topics.base}/meter/#`, 1);
    await this.#broker.subscribe(this.#topics.event, 1);
    if (credential) {
      await this.#broker.subscribe(this.#topics.rpcResponse(credential.viewer), 1);
      await this.#broker.subscribe(this.#topics.commandResult(credential.viewer), 1);
    }
  }

  /**
   * Asks the site for every meter's slots since `from` and takes them as received: after the
   * viewer or the broker was away, nothing the live stream missed is missing.
   */
  async resync(from: number): Promise<void> {
    const uids = [...this.#meters.keys()];
    if (uids.length === 0) return;
    for (const slot of await this.slots(uids, from, this.#now() + 1)) {
      this.#slots.set(`${slot.meterId}|${slot.start}`, slot);
      this.#emit((l) => l.slot?.(slot));
    }
  }

  async series(params: Extract<RpcCall, { method: 'series' }>['params']): Promise<Series> {
    return seriesFromJson(readSeriesJson(await this.#call({ method: 'series', params })));
  }

  async slots(uids: readonly string[], from: number, to: number): Promise<SlotEnergy[]> {
    return readSlotsJson(await this.#call({ method: 'slots', params: { uids, from, to } }));
  }

  async prices(from: number, to: number): Promise<PriceSlot[]> {
    return readPricesJson(await this.#call({ method: 'prices', params: { from, to } }));
  }

  async events(from: number, to: number, uid?: string): Promise<EventRow[]> {
    return readEventsJson(await this.#call({ method: 'events', params: { from, to, ...(uid ? { uid } : {}) } }));
  }

  /** Sends a signed command and waits for the site's signed answer. */
  async command(action: RemoteAction, pin?: string, timeoutMs = 15_000): Promise<CommandResult> {
    const topics = this.#topics;
    const credential = this.#credential;
    if (!topics || !credential) throw new RemoteMessageError('this viewer is not paired with the site: ask its installer for a pairing code');
    const announcement = this.#sites.get(topics.site);
    if (pin && !announcement?.pin) throw new RemoteMessageError('the site has no PIN');
    const seq = (this.#seqStore?.load() ?? 0) + 1;
    this.#seqStore?.save(seq);
    const signed = await signCommand(credential, seq, this.#now(), action, pin && announcement?.pin ? { digits: pin, saltHex: announcement.pin.saltHex, iterations: announcement.pin.iterations } : undefined);
    const answer = new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#commands.delete(seq);
        reject(new RemoteMessageError('the site did not answer the command (it may be offline)'));
      }, timeoutMs);
      this.#commands.set(seq, { resolve, timer });
    });
    await this.#broker.publish(topics.command(credential.viewer), JSON.stringify(signed), { qos: 1 });
    return answer;
  }

  close(): void {
    this.#off();
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    for (const c of this.#commands.values()) clearTimeout(c.timer);
  }

  async #call(call: RpcCall, timeoutMs = 15_000): Promise<unknown> {
    const topics = this.#topics;
    const credential = this.#credential;
    if (!topics || !credential) throw new RemoteMessageError('this viewer is not paired with the site: ask its installer for a pairing code');
    const id = `${Date.now().toString(36)}-${(this.#nextId++).toString(36)}`;
    const response = new Promise<RpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RemoteMessageError('the site did not answer (it may be offline)'));
      }, timeoutMs);
      this.#pending.set(id, { resolve, timer });
    });
    await this.#broker.publish(topics.rpcRequest(credential.viewer), JSON.stringify(signRequest(credential, id, call)), { qos: 1 });
    const r = await response;
    if (!r.ok) throw new RemoteMessageError(r.error);
    return r.result;
  }

  #message(topic: string, payload: Uint8Array): void {
    try {
      if (topic.startsWith(`${this.#prefix}/`) && topic.endsWith('/online') && topic.split('/').length === this.#prefix.split('/').length + 2) {
        const site = topic.split('/').at(-2) as string;
        if (payload.length === 0) this.#sites.delete(site);
        else this.#sites.set(site, readAnnouncement(payload));
        this.#emit((l) => l.sites?.(this.#sites));
        return;
      }
      const parsed = this.#topics?.parse(topic);
      if (!parsed) return;
      switch (parsed.kind) {
        case 'settings': {
          const settings = readRemoteSettings(payload);
          this.#settings = settings;
          this.#emit((l) => l.settings?.(settings));
          break;
        }
        case 'cost': {
          // Checked like every message of the site; the viewer bills from its own replica.
          if (readCost(payload).uid !== parsed.uid) throw new RemoteMessageError('a cost under another meter’s topic');
          break;
        }
        case 'availability':
          this.#online = new TextDecoder().decode(payload) === 'online';
          this.#emit((l) => l.availability?.(this.#online));
          break;
        case 'info': {
          const info = readMeterInfo(payload);
          if (info.uid !== parsed.uid) throw new RemoteMessageError('a meter info under another meter’s topic');
          this.#meters.set(info.uid, info);
          this.#emit((l) => l.meters?.(this.meters));
          break;
        }
        case 'live': {
          const reading = readLive(payload);
          this.#live.set(parsed.uid, reading);
          this.#emit((l) => l.live?.(parsed.uid, reading));
          break;
        }
        case 'slot': {
          const s = readSlot(payload);
          const slot: SlotEnergy = { meterId: s.uid, start: s.start, importMwh: s.importMwh, exportMwh: s.exportMwh };
          // The slot's value so far: it replaces what came before for the same slot.
          this.#slots.set(`${s.uid}|${s.start}`, slot);
          this.#emit((l) => l.slot?.(slot));
          break;
        }
        case 'event': {
          const e = readEventMessage(payload);
          const key = `${e.uid}|${e.seq}`;
          if (this.#events.has(key)) break;
          this.#events.set(key, e);
          this.#emit((l) => l.event?.(e));
          break;
        }
        case 'rpc-response': {
          const credential = this.#credential;
          const r = credential ? verifyResponse(credential, parseJson(payload)) : undefined;
          if (!r) break; // not the site's answer
          const pending = this.#pending.get(r.id);
          if (!pending) break;
          clearTimeout(pending.timer);
          this.#pending.delete(r.id);
          pending.resolve(r);
          break;
        }
        case 'command-result': {
          const credential = this.#credential;
          const result = credential ? verifyResult(credential, parseJson(payload)) : undefined;
          if (!result) break; // not the site's answer
          const pending = this.#commands.get(result.seq);
          if (!pending) break;
          clearTimeout(pending.timer);
          this.#commands.delete(result.seq);
          pending.resolve(result);
          break;
        }
        default:
          break;
      }
    } catch (error) {
      this.#emit((l) => l.problem?.(error instanceof Error ? error.message : String(error)));
    }
  }

  #emit(call: (l: ViewerEvents) => void): void {
    for (const l of this.#listeners) call(l);
  }
}
