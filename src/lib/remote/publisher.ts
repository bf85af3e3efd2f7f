/**
 * The site's side of the broker: the aggregator publishes its meters, their live readings, the
 * energy of every slot and the events; answers paired viewers' history requests; and carries out
 * their signed commands after checking them. When the broker is away the site keeps working; when
 * it returns the publisher sends every slot from where it had got to, so a viewer neither misses
 * nor doubles a record (a slot message is the slot's value so far: sending it again replaces).
 * A slot is sent again whenever its value changed, for as long as it can change (25 hours).
 */
import { errorMessage } from '../errors';
import type { PinHash } from '../settings/site-settings';
import type { Series, SlotEnergy } from '../store/queries';
import type { EventRow } from '../store/schema';
import { type PriceSlot, SLOT_MS } from '../tariff/slot';
import type { BrokerClient, BrokerStatus } from './broker';
import { signResult, verifyCommand, type ViewerCredential } from './command-auth';
import { discoveryMessages } from './home-assistant';
import { type CostMessage, encode, type EventMessage, type LiveReading, REMOTE_PROTOCOL, type RemoteMeterInfo, type RemoteSiteSettings, type SiteAnnouncement, type SlotMessage, type Topics } from './protocol';
import { type RpcCall, type RpcResponse, seriesToJson, signResponse, verifyRequest } from './rpc';

/** What the publisher needs of the site: the app's state and history behind a small surface. */
export interface PublishedSite {
  readonly topics: Topics;
  readonly name: () => string;
  readonly meters: () => readonly RemoteMeterInfo[];
  readonly settings: () => { readonly contractedPowerW: number; readonly currency: string; readonly pin: PinHash | undefined };
  /** What a viewer bills with: the contracted power and the tariff. */
  readonly remoteSettings: () => RemoteSiteSettings;
  readonly readPrices: (from: number, to: number) => Promise<readonly PriceSlot[]>;
  readonly readSlots: (uids: readonly string[], from: number, to: number) => Promise<readonly SlotEnergy[]>;
  readonly readEvents: (from: number, to: number, uid?: string) => Promise<readonly EventRow[]>;
  readonly readSeries: (call: Extract<RpcCall, { method: 'series' }>['params']) => Promise<Series>;
  /** Switches a meter's relay through the aggregator (authenticated CAN command); resolves with what happened. */
  readonly setRelay: (uid: string, on: boolean) => Promise<{ readonly ok: boolean; readonly detail: string }>;
  /** Paired viewers, by id. */
  readonly viewers: () => ReadonlyMap<string, ViewerCredential>;
  /** The last command seq accepted from a viewer, and recording a new one (persisted by the site). */
  readonly lastSeq: (viewer: string) => number;
  readonly acceptSeq: (viewer: string, seq: number) => void;
  /** Where publishing had got to: the first slot (ms) not yet confirmed by the broker, per meter. */
  readonly loadCursor: () => Promise<ReadonlyMap<string, number>>;
  readonly saveCursor: (cursor: ReadonlyMap<string, number>) => Promise<void>;
  readonly now: () => number;
}

export interface PublisherOptions {
  /** Home Assistant MQTT discovery (prefix "homeassistant"), or off. */
  readonly homeAssistant?: { readonly prefix: string } | false;
  /** Live readings per meter at most this often, ms. */
  readonly liveEveryMs?: number;
}

export interface PublisherStatus {
  readonly broker: BrokerStatus;
  readonly lastPublishAt: number | undefined;
  readonly error: string | undefined;
  readonly commandsAccepted: number;
  readonly commandsRefused: number;
}

const DAY_MS = 86_400_000;
/** How far back a fresh publisher (no cursor) sends slots: today and yesterday. */
const FIRST_SLOTS_MS = 2 * DAY_MS;
/** Slots this recent may still change (a straddling reading, a gap filled from the meters' 24 hours of aggregates). */
const REPUBLISH_WINDOW_MS = 25 * 3_600_000;

export class Publisher {
  readonly #broker: BrokerClient;
  readonly #site: PublishedSite;
  readonly #options: PublisherOptions;
  readonly #lastLive = new Map<string, number>();
  readonly #lastCost = new Map<string, string>();
  /** The value last confirmed by the broker for each slot of the window, `uid|start` → `import|export`. */
  readonly #sent = new Map<string, string>();
  readonly #offs: (() => void)[] = [];
  #cursor = new Map<string, number>();
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #eventsFrom = 0;
  #status: PublisherStatus = { broker: 'connecting', lastPublishAt: undefined, error: undefined, commandsAccepted: 0, commandsRefused: 0 };
  readonly #listeners = new Set<(status: PublisherStatus) => void>();

  constructor(broker: BrokerClient, site: PublishedSite, options: PublisherOptions = {}) {
    this.#broker = broker;
    this.#site = site;
    this.#options = options;
  }

  get status(): PublisherStatus {
    return this.#status;
  }

  subscribe(listener: (status: PublisherStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.#cursor = new Map(await this.#site.loadCursor());
    this.#eventsFrom = this.#site.now() - DAY_MS;
    this.#offs.push(
      this.#broker.onStatus((status, detail) => {
        this.#update({ broker: status, ...(detail ? { error: detail } : {}) });
        if (status === 'connected') void this.#announce();
      }),
      this.#broker.onMessage((topic, payload) => void this.#message(topic, payload)),
    );
    if (this.#broker.status === 'connected') await this.#announce();
  }

  async stop(): Promise<void> {
    for (const off of this.#offs.splice(0)) off();
    // Saying goodbye: the broker would publish the will only if the connection just dropped.
    await this.#broker.publish(this.#site.topics.availability, 'offline', { qos: 1, retain: true }).catch(() => undefined);
    await this.#broker.close();
  }

  /** A verified reading of a meter (throttled to one a second per meter). */
  live(uid: string, reading: LiveReading): void {
    const last = this.#lastLive.get(uid) ?? -Infinity;
    if (reading.at - last < (this.#options.liveEveryMs ?? 1000) || this.#broker.status !== 'connected') return;
    this.#lastLive.set(uid, reading.at);
    this.#publish(this.#site.topics.live(uid), encode(reading), 0, true);
  }

  /** The meters changed (a meter joined, the user renamed one), or the site's settings did. */
  metersChanged(): void {
    if (this.#broker.status === 'connected') void this.#announce();
  }

  /** A load's cost today: published when it changed (retained, for Home Assistant and viewers). */
  cost(message: CostMessage): void {
    const text = encode(message);
    if (this.#lastCost.get(message.uid) === text || this.#broker.status !== 'connected') return;
    this.#lastCost.set(message.uid, text);
    this.#publish(this.#site.topics.cost(message.uid), text, 0, true);
  }

  /**
   * The history was written: publish every slot from the cursor on, and new events. One run at
   * a time; calls during a run share one more run after it, whose promise they get.
   */
  historyChanged(): Promise<void> {
    if (this.#queued) return this.#queued;
    if (this.#running) {
      this.#queued = this.#running.then(() => {
        this.#queued = undefined;
        return this.#sync();
      });
      return this.#queued;
    }
    return this.#sync();
  }

  #sync(): Promise<void> {
    this.#running = (async () => {
      try {
        await this.#syncSlots();
        await this.#syncEvents();
      } catch (error) {
        // The broker is away or refused: the cursor did not move, the next run sends it all.
        this.#update({ error: errorMessage(error) });
      }
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #announce(): Promise<void> {
    const t = this.#site.topics;
    const settings = this.#site.settings();
    const announcement: SiteAnnouncement = {
      protocol: REMOTE_PROTOCOL,
      site: t.site,
      name: this.#site.name(),
      at: this.#site.now(),
      contractedPowerW: settings.contractedPowerW,
      currency: settings.currency,
      pin: settings.pin ? { saltHex: settings.pin.saltHex, iterations: settings.pin.iterations } : null,
    };
    try {
      await this.#broker.subscribe(`${t.base}/cmd/+`, 1);
      await this.#broker.subscribe(`${t.base}/rpc/+/req`, 1);
      await this.#broker.publish(t.availability, 'online', { qos: 1, retain: true });
      await this.#broker.publish(t.settings, encode(this.#site.remoteSettings()), { qos: 1, retain: true });
      await this.#broker.publish(t.online, encode(announcement), { qos: 1, retain: true });
      for (const meter of this.#site.meters()) {
        await this.#broker.publish(t.meterInfo(meter.uid), encode(meter), { qos: 1, retain: true });
        if (this.#options.homeAssistant) {
          for (const d of discoveryMessages(t, meter, { prefix: this.#options.homeAssistant.prefix, siteName: this.#site.name(), currency: settings.currency })) await this.#broker.publish(d.topic, d.payload, { qos: 1, retain: true });
        }
      }
      this.#update({ lastPublishAt: this.#site.now(), error: undefined });
    } catch (error) {
      this.#update({ error: errorMessage(error) });
    }
    await this.historyChanged();
  }

  async #syncSlots(): Promise<void> {
    if (this.#broker.status !== 'connected') return;
    const now = this.#site.now();
    const open = Math.floor(now / SLOT_MS) * SLOT_MS;
    // A slot keeps changing after it closes: the register reading that straddles its end is split
    // into it when it arrives, and a gap is filled from the meters' 10-minute aggregates (the last
    // 24 hours) when they are read. So every slot of the window is compared with what was sent,
    // and sent again when it differs; only slots older than the window are final.
    const settled = Math.floor((now - REPUBLISH_WINDOW_MS) / SLOT_MS) * SLOT_MS;
    for (const meter of this.#site.meters()) {
      const from = Math.min(this.#cursor.get(meter.uid) ?? open - FIRST_SLOTS_MS, settled);
      const slots = await this.#site.readSlots([meter.uid], from, open + SLOT_MS);
      const changed = slots.filter((s) => this.#sent.get(`${meter.uid}|${s.start}`) !== `${s.importMwh}|${s.exportMwh}`);
      await Promise.all(
        changed.map((s) => {
          const message: SlotMessage = { uid: meter.uid, start: s.start, importMwh: s.importMwh, exportMwh: s.exportMwh };
          return this.#broker.publish(this.#site.topics.slot(meter.uid), encode(message), { qos: 1 });
        }),
      );
      // Confirmed by the broker: remembered as sent.
      for (const s of changed) this.#sent.set(`${meter.uid}|${s.start}`, `${s.importMwh}|${s.exportMwh}`);
      this.#cursor.set(meter.uid, Math.max(this.#cursor.get(meter.uid) ?? from, settled));
    }
    for (const key of this.#sent.keys()) if (Number(key.slice(key.indexOf('|') + 1)) < settled) this.#sent.delete(key);
    await this.#site.saveCursor(this.#cursor);
    this.#update({ lastPublishAt: now });
  }

  async #syncEvents(): Promise<void> {
    if (this.#broker.status !== 'connected') return;
    const now = this.#site.now();
    const events = await this.#site.readEvents(this.#eventsFrom, now + 1);
    await Promise.all(
      events.map((e) => {
        const message: EventMessage = { uid: e.uid, seq: e.seq, kind: e.kind, start: e.start, durationMs: e.durationMs, extremeV: e.extremeV };
        return this.#broker.publish(this.#site.topics.event, encode(message), { qos: 1 });
      }),
    );
    // Events are read from the meters a while after they happened: keep a margin.
    this.#eventsFrom = Math.max(this.#eventsFrom, now - 15 * 60_000);
  }

  async #message(topic: string, payload: Uint8Array): Promise<void> {
    const parsed = this.#site.topics.parse(topic);
    if (!parsed) return;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return; // not ours to answer
    }
    if (parsed.kind === 'command') await this.#command(parsed.viewer, json);
    else if (parsed.kind === 'rpc-request') await this.#rpc(parsed.viewer, json);
  }

  async #command(viewer: string, json: unknown): Promise<void> {
    const viewers = this.#site.viewers();
    const verdict = verifyCommand(json, { viewers, lastSeq: this.#site.lastSeq, now: this.#site.now(), pin: this.#site.settings().pin });
    const credential = viewers.get(viewer);
    if (!verdict.ok) {
      this.#update({ commandsRefused: this.#status.commandsRefused + 1 });
      // Answer only a paired viewer on its own topic: strangers learn nothing.
      const seq = typeof (json as { seq?: unknown })?.seq === 'number' ? (json as { seq: number }).seq : 0;
      if (credential && (json as { viewer?: unknown })?.viewer === viewer) this.#publish(this.#site.topics.commandResult(viewer), encode(signResult(credential, { seq, ok: false, detail: verdict.detail })), 1);
      return;
    }
    const command = verdict.command;
    if (command.viewer !== viewer || !credential) return;
    // Spent before it runs: a command is never carried out twice, whatever happens next.
    this.#site.acceptSeq(viewer, command.seq);
    let outcome: { ok: boolean; detail: string };
    try {
      outcome = await this.#site.setRelay(command.action.uid, command.action.on);
    } catch (error) {
      outcome = { ok: false, detail: errorMessage(error) };
    }
    this.#update(outcome.ok ? { commandsAccepted: this.#status.commandsAccepted + 1 } : { commandsRefused: this.#status.commandsRefused + 1 });
    this.#publish(this.#site.topics.commandResult(viewer), encode(signResult(credential, { seq: command.seq, ...outcome })), 1);
  }

  async #rpc(viewer: string, json: unknown): Promise<void> {
    let response: RpcResponse;
    const id = typeof (json as { id?: unknown })?.id === 'string' ? (json as { id: string }).id : '';
    // Only a paired viewer gets an answer, signed with its key: strangers learn nothing.
    const credential = this.#site.viewers().get(viewer);
    if (!credential) return;
    try {
      const request = verifyRequest(json, this.#site.viewers());
      if (request.viewer !== viewer) return;
      const call = request.call;
      const result =
        call.method === 'series'
          ? seriesToJson(await this.#site.readSeries(call.params))
          : call.method === 'slots'
            ? await this.#site.readSlots(call.params.uids, call.params.from, call.params.to)
            : call.method === 'prices'
              ? await this.#site.readPrices(call.params.from, call.params.to)
              : await this.#site.readEvents(call.params.from, call.params.to, call.params.uid);
      response = { id, ok: true, result };
    } catch (error) {
      response = { id, ok: false, error: errorMessage(error) };
    }
    this.#publish(this.#site.topics.rpcResponse(viewer), encode(signResponse(credential, response)), 1);
  }

  #publish(topic: string, payload: string, qos: 0 | 1, retain = false): void {
    this.#broker.publish(topic, payload, { qos, retain }).then(
      () => this.#update({ lastPublishAt: this.#site.now() }),
      (error: unknown) => this.#update({ error: errorMessage(error) }),
    );
  }

  #update(patch: Partial<PublisherStatus>): void {
    this.#status = { ...this.#status, ...patch };
    for (const l of this.#listeners) l(this.#status);
  }
}
