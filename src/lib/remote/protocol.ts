/**
 * What a site's aggregator publishes to an MQTT broker and what a remote viewer sends back
 * (docs/deployment.md): the topics, the JSON payloads and their validation. A payload from the
 * broker is never trusted: every reader checks its shape and says what is wrong.
 *
 *   <prefix>/<site>/online                 retained  SiteAnnouncement
 *   <prefix>/<site>/availability           retained  "online", or "offline" (the last will) when the site is gone
 *   <prefix>/<site>/settings               retained  RemoteSiteSettings (contracted power and tariff: no PIN, no tokens)
 *   <prefix>/<site>/meter/<uid>/info       retained  RemoteMeterInfo
 *   <prefix>/<site>/meter/<uid>/live       retained  LiveReading
 *   <prefix>/<site>/meter/<uid>/slot       QoS 1     SlotMessage (idempotent: the slot's value so far)
 *   <prefix>/<site>/meter/<uid>/cost       retained  CostMessage (today's cost of the load, for Home Assistant)
 *   <prefix>/<site>/event                  QoS 1     EventMessage (idempotent by uid and seq)
 *   <prefix>/<site>/rpc/<viewer>/req|res   QoS 1     history queries from a viewer, and the site's signed answers
 *   <prefix>/<site>/cmd/<viewer>           QoS 1     SignedCommand
 *   <prefix>/<site>/cmd/<viewer>/result    QoS 1     SignedResult
 */

import { SLOT_MS } from '../tariff/slot';
import type { Tariff } from '../tariff/tariff';
import { validateTariff } from '../tariff/tariff';

export const REMOTE_PROTOCOL = 1;
/** PBKDF2 rounds a site may ask of a viewer's PIN (the bounds the site's settings accept). */
export const MIN_PIN_ITERATIONS = 1000;
export const MAX_PIN_ITERATIONS = 10_000_000;

export class RemoteMessageError extends Error {
  override readonly name = 'RemoteMessageError';
}

/** A topic level: no wildcards, no separators, not empty. */
export function topicLevel(value: string): string {
  if (!/^[A-Za-z0-9._~-]{1,64}$/.test(value)) throw new RangeError(`"${value}" cannot be an MQTT topic level (letters, digits, . _ ~ -, at most 64)`);
  return value;
}

export class Topics {
  readonly prefix: string;
  readonly site: string;

  constructor(prefix: string, site: string) {
    this.prefix = prefix.split('/').map(topicLevel).join('/');
    this.site = topicLevel(site);
  }

  get base(): string {
    return `${this.prefix}/${this.site}`;
  }

  get online(): string {
    return `${this.base}/online`;
  }

  get availability(): string {
    return `${this.base}/availability`;
  }

  get settings(): string {
    return `${this.base}/settings`;
  }

  meterInfo(uid: string): string {
    return `${this.base}/meter/${topicLevel(uid)}/info`;
  }

  live(uid: string): string {
    return `${this.base}/meter/${topicLevel(uid)}/live`;
  }

  slot(uid: string): string {
    return `${this.base}/meter/${topicLevel(uid)}/slot`;
  }

  cost(uid: string): string {
    return `${this.base}/meter/${topicLevel(uid)}/cost`;
  }

  get event(): string {
    return `${this.base}/event`;
  }

  rpcRequest(viewer: string): string {
    return `${this.base}/rpc/${topicLevel(viewer)}/req`;
  }

  rpcResponse(viewer: string): string {
    return `${this.base}/rpc/${topicLevel(viewer)}/res`;
  }

  command(viewer: string): string {
    return `${this.base}/cmd/${topicLevel(viewer)}`;
  }

  commandResult(viewer: string): string {
    return `${this.base}/cmd/${topicLevel(viewer)}/result`;
  }

  /** Every site's announcement under a prefix, for the viewer's site list. */
  static allSites(prefix: string): string {
    return `${prefix.split('/').map(topicLevel).join('/')}/+/online`;
  }

  /** What `topic` is, relative to this site; undefined when it is not one of its topics. */
  parse(topic: string): ParsedTopic | undefined {
    if (!topic.startsWith(`${this.base}/`)) return undefined;
    const rest = topic.slice(this.base.length + 1).split('/');
    if (rest.length === 1 && rest[0] === 'online') return { kind: 'online' };
    if (rest.length === 1 && rest[0] === 'availability') return { kind: 'availability' };
    if (rest.length === 1 && rest[0] === 'settings') return { kind: 'settings' };
    if (rest.length === 1 && rest[0] === 'event') return { kind: 'event' };
    if (rest.length === 3 && rest[0] === 'meter' && rest[1]) {
      if (rest[2] === 'info' || rest[2] === 'live' || rest[2] === 'slot' || rest[2] === 'cost') return { kind: rest[2], uid: rest[1] };
    }
    if (rest.length === 3 && rest[0] === 'rpc' && rest[1] && (rest[2] === 'req' || rest[2] === 'res')) return { kind: rest[2] === 'req' ? 'rpc-request' : 'rpc-response', viewer: rest[1] };
    if (rest.length === 2 && rest[0] === 'cmd' && rest[1]) return { kind: 'command', viewer: rest[1] };
    if (rest.length === 3 && rest[0] === 'cmd' && rest[1] && rest[2] === 'result') return { kind: 'command-result', viewer: rest[1] };
    return undefined;
  }
}

export type ParsedTopic =
  | { readonly kind: 'online' | 'availability' | 'settings' | 'event' }
  | { readonly kind: 'info' | 'live' | 'slot' | 'cost'; readonly uid: string }
  | { readonly kind: 'rpc-request' | 'rpc-response' | 'command' | 'command-result'; readonly viewer: string };

/** A site says it is there (retained; the broker clears it with the last will). */
export interface SiteAnnouncement {
  readonly protocol: number;
  readonly site: string;
  readonly name: string;
  readonly at: number;
  readonly contractedPowerW: number;
  readonly currency: string;
  /** The PIN's salt and rounds (not secret), so a viewer can prove the PIN without sending it. */
  readonly pin: { readonly saltHex: string; readonly iterations: number } | null;
}

export interface RemoteMeterInfo {
  readonly uid: string;
  readonly node: number;
  readonly name: string;
  readonly kind: 'load' | 'generator' | 'cogenerator' | 'storage';
  readonly priority: number;
  readonly gridPoint: boolean;
}

export interface LiveReading {
  readonly at: number;
  readonly watts: number;
  readonly volts: number;
  readonly amps: number;
  readonly hertz: number;
  readonly powerFactor: number;
  readonly thdV: number | null;
  readonly thdI: number | null;
  readonly relayOn: boolean;
  readonly silent: boolean;
  /** Energy counted since the meter joined (the ledger's total), mWh: for Home Assistant's total_increasing. */
  readonly importMwh: number;
  readonly exportMwh: number;
}

/** A slot's energy so far: publishing it again replaces, never adds. */
export interface SlotMessage {
  readonly uid: string;
  readonly start: number;
  readonly importMwh: number;
  readonly exportMwh: number;
}

/** What a viewer needs of the site's settings to bill as the site does. Never the PIN's hash or a price API's token. */
export interface RemoteSiteSettings {
  readonly contractedPowerW: number;
  readonly tariff: Tariff;
}

/** A load's cost today so far, as the site's tiles show it. */
export interface CostMessage {
  readonly uid: string;
  /** Local day (the tariff's time zone), YYYY-MM-DD. */
  readonly day: string;
  readonly cents: number;
  readonly currency: string;
  /** Some slots were priced at the tariff's fallback. */
  readonly estimated: boolean;
}

export interface EventMessage {
  readonly uid: string;
  readonly seq: number;
  readonly kind: 'dip' | 'swell' | 'interruption';
  readonly start: number;
  readonly durationMs: number;
  readonly extremeV: number;
}

// ---------------------------------------------------------------------------------------------
// Reading payloads

type Shape = Record<string, 'number' | 'string' | 'boolean' | 'number|null' | 'object|null'>;

/** A payload's JSON; throws RemoteMessageError when it is not JSON. */
export function parseJson(payload: Uint8Array | string): unknown {
  const text = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: false }).decode(payload);
  try {
    return JSON.parse(text);
  } catch {
    throw new RemoteMessageError('the payload is not JSON');
  }
}

function check<T>(value: unknown, shape: Shape, what: string): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RemoteMessageError(`${what} is not an object`);
  const o = value as Record<string, unknown>;
  for (const [key, type] of Object.entries(shape)) {
    const v = o[key];
    const ok =
      type === 'number'
        ? typeof v === 'number' && Number.isFinite(v)
        : type === 'number|null'
          ? v === null || (typeof v === 'number' && Number.isFinite(v))
          : type === 'object|null'
            ? v === null || (typeof v === 'object' && !Array.isArray(v))
            : typeof v === type;
    if (!ok) throw new RemoteMessageError(`${what}: ${key} must be ${type}`);
  }
  return value as T;
}

export function readAnnouncement(payload: Uint8Array | string): SiteAnnouncement {
  const a = check<SiteAnnouncement>(parseJson(payload), { protocol: 'number', site: 'string', name: 'string', at: 'number', contractedPowerW: 'number', currency: 'string', pin: 'object|null' }, 'the site announcement');
  if (a.protocol > REMOTE_PROTOCOL) throw new RemoteMessageError(`the site speaks remote protocol ${a.protocol}; this app knows ${REMOTE_PROTOCOL}: update it`);
  if (a.pin) {
    check(a.pin, { saltHex: 'string', iterations: 'number' }, 'the site announcement’s PIN');
    // The viewer runs PBKDF2 with these: a bad salt would throw, a huge count would hang it.
    if (!/^(?:[0-9a-fA-F]{2}){8,64}$/.test(a.pin.saltHex)) throw new RemoteMessageError('the site announcement’s PIN salt is not 8 to 64 bytes of hex');
    if (!Number.isInteger(a.pin.iterations) || a.pin.iterations < MIN_PIN_ITERATIONS || a.pin.iterations > MAX_PIN_ITERATIONS) throw new RemoteMessageError(`the site announcement’s PIN rounds are not ${MIN_PIN_ITERATIONS} to ${MAX_PIN_ITERATIONS}`);
  }
  return a;
}

export function readMeterInfo(payload: Uint8Array | string): RemoteMeterInfo {
  const m = check<RemoteMeterInfo>(parseJson(payload), { uid: 'string', node: 'number', name: 'string', kind: 'string', priority: 'number', gridPoint: 'boolean' }, 'the meter info');
  if (!['load', 'generator', 'cogenerator', 'storage'].includes(m.kind)) throw new RemoteMessageError(`the meter info: unknown kind ${m.kind}`);
  return m;
}

export function readLive(payload: Uint8Array | string): LiveReading {
  return check<LiveReading>(parseJson(payload), { at: 'number', watts: 'number', volts: 'number', amps: 'number', hertz: 'number', powerFactor: 'number', thdV: 'number|null', thdI: 'number|null', relayOn: 'boolean', silent: 'boolean', importMwh: 'number', exportMwh: 'number' }, 'the live reading');
}

/** A slot's energy as the site's ledger can hold it: on the 15-minute grid, finite, not negative. */
export function isSlotEnergy(start: unknown, importMwh: unknown, exportMwh: unknown): boolean {
  const energy = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  return typeof start === 'number' && Number.isFinite(start) && start % SLOT_MS === 0 && energy(importMwh) && energy(exportMwh);
}

export function readSlot(payload: Uint8Array | string): SlotMessage {
  const s = check<SlotMessage>(parseJson(payload), { uid: 'string', start: 'number', importMwh: 'number', exportMwh: 'number' }, 'the slot');
  if (!isSlotEnergy(s.start, s.importMwh, s.exportMwh)) throw new RemoteMessageError('the slot is not on the 15-minute grid, or its energy is negative');
  return s;
}

export function readEventMessage(payload: Uint8Array | string): EventMessage {
  const e = check<EventMessage>(parseJson(payload), { uid: 'string', seq: 'number', kind: 'string', start: 'number', durationMs: 'number', extremeV: 'number' }, 'the event');
  if (!['dip', 'swell', 'interruption'].includes(e.kind)) throw new RemoteMessageError(`the event: unknown kind ${e.kind}`);
  return e;
}

export function readRemoteSettings(payload: Uint8Array | string): RemoteSiteSettings {
  const o = check<{ contractedPowerW: number; tariff: unknown }>(parseJson(payload), { contractedPowerW: 'number', tariff: 'object|null' }, 'the site settings');
  if (o.contractedPowerW <= 0) throw new RemoteMessageError('the site settings: the contracted power must be positive');
  const tariff = validateTariff(o.tariff);
  if (!tariff.ok) throw new RemoteMessageError(`the site settings: the tariff is not valid (${tariff.issues.map((i) => i.message).join('; ')})`);
  return { contractedPowerW: o.contractedPowerW, tariff: tariff.value };
}

export function readCost(payload: Uint8Array | string): CostMessage {
  const c = check<CostMessage>(parseJson(payload), { uid: 'string', day: 'string', cents: 'number', currency: 'string', estimated: 'boolean' }, 'the cost');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(c.day)) throw new RemoteMessageError('the cost: day must be YYYY-MM-DD');
  return c;
}

export const encode = (value: unknown): string => JSON.stringify(value);
