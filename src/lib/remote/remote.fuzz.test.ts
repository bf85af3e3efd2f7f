/**
 * The remote view's MQTT messages under fuzzing. Anyone who can reach the broker can publish any
 * bytes on any topic, so every reader must: throw only RemoteMessageError (or, for commands,
 * return a verdict), never accept a forgery, never hang the viewer (a PIN round count from an
 * announcement), and read back what the writer wrote.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROLLUP_QUANTITIES } from '../store/schema';
import { canonicalJson, issueViewer, pairingCode, readPairingCode, signCommand, signResult, verifyCommand, verifyResult, type ViewerCredential } from './command-auth';
import { encode, type EventMessage, type LiveReading, MAX_PIN_ITERATIONS, parseJson, readAnnouncement, readCost, readEventMessage, readLive, readMeterInfo, readRemoteSettings, readSlot, RemoteMessageError, type RemoteMeterInfo, type SiteAnnouncement, type SlotMessage, Topics } from './protocol';
import { readEventsJson, readPricesJson, readSeriesJson, readSlotsJson, type RpcCall, signRequest, signResponse, verifyRequest, verifyResponse } from './rpc';

const RUNS = { numRuns: 500 };
const bytes = (n: number) => new Uint8Array(n).map((_, i) => (i * 37 + 11) & 0xff);
const credential: ViewerCredential = issueViewer('homesite', bytes);
const stranger: ViewerCredential = issueViewer('homesite', (n) => bytes(n).map((b) => b ^ 0x5a));
const viewers = new Map([[credential.viewer, credential]]);

/** Runs a reader: a value, or a RemoteMessageError and nothing else. */
function readOrRefuse<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    expect(error).toBeInstanceOf(RemoteMessageError);
    expect((error as Error).message.length).toBeGreaterThan(0);
    return undefined;
  }
}

const json = fc.jsonValue({ maxDepth: 3 });
const junk = fc.oneof(json, fc.constant(undefined));
const payloadArb = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 200 }), json.map((v) => JSON.stringify(v)));
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
/** A field of the right type or not. */
const maybe = <T>(good: fc.Arbitrary<T>) => fc.oneof(good, good, junk);

const announcementArb: fc.Arbitrary<SiteAnnouncement> = fc.record({
  protocol: fc.constant(1),
  site: fc.string(),
  name: fc.string(),
  at: finite,
  contractedPowerW: finite,
  currency: fc.string(),
  pin: fc.option(fc.record({ saltHex: fc.stringMatching(/^[0-9a-f]{32}$/), iterations: fc.integer({ min: 1000, max: MAX_PIN_ITERATIONS }) }), { nil: null }),
});
const meterInfoArb: fc.Arbitrary<RemoteMeterInfo> = fc.record({ uid: fc.string(), node: fc.integer(), name: fc.string(), kind: fc.constantFrom('load', 'generator', 'cogenerator', 'storage'), priority: fc.integer(), gridPoint: fc.boolean() });
const liveArb: fc.Arbitrary<LiveReading> = fc.record({ at: finite, watts: finite, volts: finite, amps: finite, hertz: finite, powerFactor: finite, thdV: fc.option(finite, { nil: null }), thdI: fc.option(finite, { nil: null }), relayOn: fc.boolean(), silent: fc.boolean(), importMwh: finite, exportMwh: finite });
const slotArb: fc.Arbitrary<SlotMessage> = fc.record({ uid: fc.string(), start: fc.integer({ min: 0, max: 3e6 }).map((i) => i * 900_000), importMwh: fc.nat(), exportMwh: fc.nat() });
const eventArb: fc.Arbitrary<EventMessage> = fc.record({ uid: fc.string(), seq: fc.nat(), kind: fc.constantFrom('dip', 'swell', 'interruption'), start: finite, durationMs: finite, extremeV: finite });

const readers = [readAnnouncement, readMeterInfo, readLive, readSlot, readEventMessage, readRemoteSettings, readCost] as const;

describe('remote messages under fuzzing', () => {
  it('every payload reader reads or refuses any bytes with a RemoteMessageError', () => {
    fc.assert(
      fc.property(payloadArb, (payload) => {
        for (const read of readers) readOrRefuse(() => read(payload));
        readOrRefuse(() => parseJson(payload));
      }),
      { numRuns: 1000 },
    );
  });

  it('reads near-miss payloads (each field right or wrong) or refuses them', () => {
    const nearAnnouncement = fc.record({ protocol: maybe(fc.integer({ min: 0, max: 3 })), site: maybe(fc.string()), name: maybe(fc.string()), at: maybe(finite), contractedPowerW: maybe(finite), currency: maybe(fc.string()), pin: fc.oneof(fc.constant(null), fc.record({ saltHex: maybe(fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), fc.string())), iterations: maybe(fc.oneof(fc.integer(), fc.constant(1e12), finite)) }), junk) });
    fc.assert(
      fc.property(nearAnnouncement, (a) => {
        const read = readOrRefuse(() => readAnnouncement(encode(a)));
        // An announcement it takes never asks the viewer for more PBKDF2 than a site may use.
        if (read?.pin) expect(read.pin.iterations).toBeLessThanOrEqual(MAX_PIN_ITERATIONS);
      }),
      RUNS,
    );
    // The site settings carry a whole tariff: any JSON in its place is refused, never thrown past.
    const nearSettings = fc.record({ contractedPowerW: maybe(fc.integer({ min: -10, max: 10_000 })), tariff: fc.oneof(junk, fc.record({ kind: maybe(fc.constantFrom('fixed', 'bands', 'dynamic')), timeZone: maybe(fc.constantFrom('Europe/Rome', 'Mars/Olympus')), currency: maybe(fc.constantFrom('EUR', 'eur')), vatPercent: maybe(fc.integer({ min: -5, max: 30 })) })) });
    fc.assert(fc.property(nearSettings, (o) => void readOrRefuse(() => readRemoteSettings(encode(o)))), RUNS);
    const nearCost = fc.record({ uid: maybe(fc.string()), day: maybe(fc.oneof(fc.constant('2026-12-01'), fc.string({ maxLength: 12 }))), cents: maybe(fc.integer()), currency: maybe(fc.constant('EUR')), estimated: maybe(fc.boolean()) });
    fc.assert(fc.property(nearCost, (c) => void readOrRefuse(() => readCost(encode(c)))), RUNS);
    const nearSlot = fc.record({ uid: maybe(fc.string()), start: maybe(fc.integer()), importMwh: maybe(fc.integer()), exportMwh: maybe(fc.integer()) });
    fc.assert(
      fc.property(nearSlot, (s) => {
        const read = readOrRefuse(() => readSlot(encode(s)));
        if (read) expect(read.start % 900_000 === 0 && read.importMwh >= 0 && read.exportMwh >= 0).toBe(true);
      }),
      RUNS,
    );
  });

  it('reads back every message the site writes', () => {
    fc.assert(
      fc.property(announcementArb, meterInfoArb, liveArb, slotArb, eventArb, (a, m, l, s, e) => {
        expect(readAnnouncement(encode(a))).toEqual(JSON.parse(encode(a)));
        expect(readMeterInfo(new TextEncoder().encode(encode(m)))).toEqual(JSON.parse(encode(m)));
        expect(readLive(encode(l))).toEqual(JSON.parse(encode(l)));
        expect(readSlot(encode(s))).toEqual(s);
        expect(readEventMessage(encode(e))).toEqual(JSON.parse(encode(e)));
      }),
      RUNS,
    );
  });

  it('topics: any topic string parses to one of the site’s kinds or to nothing, and every topic it builds parses back', () => {
    const topics = new Topics('wattwall/home', 'homesite');
    const level = fc.stringMatching(/^[A-Za-z0-9._~-]{1,64}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.array(fc.oneof(fc.constantFrom('wattwall', 'home', 'homesite', 'meter', 'rpc', 'cmd', 'req', 'res', 'result', 'info', 'live', 'slot', 'online', 'event', ''), fc.string({ maxLength: 4 })), { maxLength: 7 }).map((l) => l.join('/'))), level, (topic, id) => {
        topics.parse(topic);
        expect(topics.parse(topics.live(id))).toEqual({ kind: 'live', uid: id });
        expect(topics.parse(topics.rpcResponse(id))).toEqual({ kind: 'rpc-response', viewer: id });
        expect(topics.parse(topics.commandResult(id))).toEqual({ kind: 'command-result', viewer: id });
      }),
      RUNS,
    );
  });

  it('commands: any payload gets a verdict, never an exception, and is never accepted unsigned', () => {
    const near = fc.record({ v: maybe(fc.constant(1)), viewer: maybe(fc.constant(credential.viewer)), seq: maybe(fc.nat()), at: maybe(fc.constant(1_000_000)), action: maybe(fc.record({ type: maybe(fc.constant('relay')), uid: maybe(fc.string()), on: maybe(fc.boolean()) })), pin: maybe(fc.constant(null)), mac: maybe(fc.stringMatching(/^[0-9a-f]{64}$/)) });
    fc.assert(
      fc.property(fc.oneof(junk, near), (payload) => {
        const verdict = verifyCommand(payload, { viewers, lastSeq: () => 0, now: 1_000_000, pin: undefined });
        expect(verdict.ok).toBe(false);
        if (!verdict.ok) expect(verdict.detail.length).toBeGreaterThan(0);
        expect(verifyResult(credential, payload)).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('commands and results: what is signed verifies; one changed field, or another key, does not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.string({ maxLength: 24 }), fc.boolean(), fc.constantFrom('seq', 'at', 'uid', 'on', 'v'), async (seq, uid, on, field) => {
        const signed = await signCommand(credential, seq, 1_000_000, { type: 'relay', uid, on });
        const ctx = { viewers, lastSeq: () => 0, now: 1_000_000, pin: undefined };
        expect(verifyCommand(JSON.parse(JSON.stringify(signed)), ctx)).toEqual({ ok: true, command: signed });
        const changed = field === 'uid' || field === 'on' ? { ...signed, action: { ...signed.action, [field]: field === 'on' ? !on : `${uid}x` } } : { ...signed, [field]: (signed[field] as number) + 1 };
        expect(verifyCommand(changed, ctx).ok).toBe(false);
        const result = signResult(credential, { seq, ok: on, detail: uid });
        expect(verifyResult(credential, JSON.parse(JSON.stringify(result)))).toEqual({ v: 1, viewer: credential.viewer, seq, ok: on, detail: uid });
        expect(verifyResult(credential, { ...result, detail: `${uid}!` })).toBeUndefined();
        expect(verifyResult(credential, signResult(stranger, { seq, ok: on, detail: uid }))).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  it('history requests: any payload is refused with a RemoteMessageError unless signed and well-formed', () => {
    const call = fc.record({ method: maybe(fc.constantFrom('series', 'slots', 'events', 'drop')), params: maybe(fc.record({ from: maybe(finite), to: maybe(finite), uid: maybe(fc.string()), uids: maybe(fc.array(fc.string(), { maxLength: 3 })), quantity: maybe(fc.constantFrom(...ROLLUP_QUANTITIES, 'watts')), resolution: fc.oneof(fc.constant(undefined), fc.constantFrom('raw', '1m', '15m', '1d', '1y')) })) });
    fc.assert(
      fc.property(fc.oneof(junk, fc.record({ id: maybe(fc.string()), viewer: maybe(fc.constant(credential.viewer)), call: fc.oneof(call, junk), mac: maybe(fc.stringMatching(/^[0-9a-f]{64}$/)) })), call, fc.string({ maxLength: 8 }), (payload, c, id) => {
        // unsigned: never accepted
        expect(readOrRefuse(() => verifyRequest(payload, viewers))).toBeUndefined();
        // signed by the viewer: accepted only when its parameters are what the site can answer
        const signed = JSON.parse(JSON.stringify(signRequest(credential, id, c as RpcCall)) ?? 'null');
        const accepted = readOrRefuse(() => verifyRequest(signed, viewers));
        if (accepted) {
          const p = accepted.call.params as unknown as Record<string, unknown>;
          expect(Number.isFinite(p.from) && Number.isFinite(p.to)).toBe(true);
          if (accepted.call.method === 'series') expect(ROLLUP_QUANTITIES).toContain(p.quantity);
          if (accepted.call.method === 'slots') expect((p.uids as unknown[]).every((u) => typeof u === 'string')).toBe(true);
        }
        expect(readOrRefuse(() => verifyRequest(JSON.parse(JSON.stringify(signRequest(stranger, id, c as RpcCall)) ?? 'null'), viewers))).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('history answers: only the site’s signed answers are taken; any other payload is not', () => {
    const result = fc.oneof(junk, fc.record({ uid: fc.string(), quantity: fc.constantFrom(...ROLLUP_QUANTITIES), resolution: fc.constantFrom('raw', '1m'), t: fc.array(fc.integer(), { maxLength: 3 }), mean: fc.array(fc.integer(), { maxLength: 3 }), min: fc.array(fc.integer(), { maxLength: 3 }), max: fc.array(fc.integer(), { maxLength: 3 }) }));
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.boolean(), result, fc.string({ maxLength: 20 }), junk, (id, ok, r, error, forged) => {
        const response = ok ? { id, ok: true as const, result: r } : { id, ok: false as const, error };
        const wire = JSON.parse(encode(signResponse(credential, response)));
        const read = verifyResponse(credential, wire);
        expect(read).toBeDefined();
        expect(canonicalJson(read)).toBe(canonicalJson(JSON.parse(encode(response))));
        // whatever a signed answer holds, the readers of its result refuse it clearly or take it
        if (read?.ok) for (const check of [readSeriesJson, readSlotsJson, readEventsJson, readPricesJson]) readOrRefuse(() => check(read.result));
        expect(verifyResponse(credential, JSON.parse(encode(signResponse(stranger, response))))).toBeUndefined();
        expect(verifyResponse(credential, { ...wire, id: `${id}x` })).toBeUndefined();
        expect(verifyResponse(credential, forged)).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('pairing codes: any text is read or refused, and a code it wrote reads back', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.tuple(fc.constantFrom('wwv1', 'wwv2'), fc.string({ maxLength: 10 }), fc.stringMatching(/^[0-9a-f]{16}$/), fc.stringMatching(/^[0-9a-f]{64}$/)).map((p) => p.join(':'))), (code) => {
        const c = readOrRefuse(() => readPairingCode(code));
        // a site it accepts can be a topic level
        if (c) expect(new Topics('wattwall', c.site).site).toBe(c.site);
      }),
      { numRuns: 1000 },
    );
    fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9._~-]{1,64}$/), (site) => void expect(readPairingCode(pairingCode({ ...credential, site }))).toEqual({ ...credential, site })), RUNS);
  });

  it('history answers hold the slot rules of the live messages: off the grid or negative is refused, only the fields are kept', () => {
    const start = 1_767_225_600_000;
    const slot = { meterId: 'm1', start, importMwh: 5, exportMwh: 0 };
    expect(readSlotsJson([{ ...slot, extra: 'dropped' }])).toEqual([slot]);
    expect(() => readSlotsJson([{ ...slot, start: start + 60_000 }])).toThrow(RemoteMessageError);
    expect(() => readSlotsJson([{ ...slot, importMwh: -1 }])).toThrow(RemoteMessageError);
    fc.assert(
      fc.property(fc.record({ start: fc.integer({ min: 0, max: 2 ** 42 }), importMwh: fc.double(), exportMwh: fc.double() }), (s) => {
        const live = (() => {
          try {
            readSlot(JSON.stringify({ uid: 'm1', ...s }));
            return true;
          } catch {
            return false;
          }
        })();
        const answered = (() => {
          try {
            readSlotsJson([{ meterId: 'm1', ...s }]);
            return true;
          } catch {
            return false;
          }
        })();
        expect(answered).toBe(live);
      }),
      RUNS,
    );
    expect(() => readPricesJson([{ start: start + 60_000, end: start + 60_000 + 900_000, price: 0.2 }])).toThrow(RemoteMessageError);
  });
});
