/**
 * The meter protocol's receive path under fuzzing, end to end: segmentation, reassembly, MAC and
 * freshness, payload decoding, and the stores the freshness lives in. The single codecs have
 * their own properties next to them (records, segmentation, secure, config-page, ids); here:
 * - garbage on the bus never costs a genuine message on another identifier, and never throws;
 * - whatever frames arrive on a meter's identifiers, every step says what it made of them;
 * - corrupt stored freshness is refused with CorruptStoreError, never read as a restart at 0;
 * - keys typed or pasted by the user parse or are refused, and hex round-trips.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanFrame } from '../can/frame';
import { canFrameArb } from '../can/testing/arbitraries';
import { canId, FunctionCode, isCommandFunction, isFunctionCode, splitId } from './ids';
import { CorruptStoreError, type KeyValueStorage, localStorageCounterStore, localStorageLastFvStore, ReceiverFreshness, SenderCounter } from './freshness';
import { parseHex, parseSiteKey, toHex } from './keys';
import { decodeCommand, decodeRecord, payloadLengthProblem, RECORD_LENGTHS } from './records';
import { MAX_PAYLOAD_LENGTH, open, SECURITY_OVERHEAD, seal } from './secure';
import { Reassembler, segment } from './segmentation';

const KEY = new Uint8Array(32).fill(7);
const RUNS = { numRuns: 500 };

function storage(initial: Record<string, string> = {}): KeyValueStorage {
  const map = new Map(Object.entries(initial));
  return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) };
}

/** A meter's secured messages: identifier, payload and FV, as a site would see them. */
const messagesArb = fc
  .array(
    fc.record({
      node: fc.integer({ min: 1, max: 4 }),
      fn: fc.constantFrom(FunctionCode.SNAPSHOT, FunctionCode.ENERGY, FunctionCode.STATUS, FunctionCode.EVENT, FunctionCode.ACK),
      seed: fc.integer({ min: 0, max: 255 }),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((list) => list.map((m, i) => ({ id: canId(m.fn, m.node), payload: new Uint8Array(RECORD_LENGTHS[m.fn]).fill(m.seed), fv: i + 1 })));

/** Frames that belong to no message of these meters: other nodes, remote and extended frames. */
const foreignFrameArb = canFrameArb.filter((f) => f.extended || f.remote || splitId(f.id).node > 4);

describe('the meter protocol under fuzzing', () => {
  it('delivers every genuine message, in order per identifier, whatever foreign frames are interleaved', () => {
    fc.assert(
      fc.property(messagesArb, fc.array(foreignFrameArb, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 200 }), (messages, foreign, picks) => {
        // One queue per identifier keeps each message's frames in order, as one sender does;
        // the queues and the foreign frames are then merged in a random order.
        const queues = new Map<number, CanFrame[]>();
        for (const m of messages) queues.set(m.id, [...(queues.get(m.id) ?? []), ...segment(m.id, seal(KEY, m.id, m.payload, m.fv))]);
        const sources: CanFrame[][] = [...queues.values(), [...foreign]];
        const stream: CanFrame[] = [];
        let p = 0;
        while (sources.some((s) => s.length > 0)) {
          const live = sources.filter((s) => s.length > 0);
          stream.push((live[(picks[p++] ?? 0) % live.length] as CanFrame[]).shift() as CanFrame);
        }
        const reassembler = new Reassembler({ now: () => 0 });
        const last = new Map<number, number>();
        const received: { id: number; fv: number; payload: Uint8Array }[] = [];
        for (const frame of stream) {
          for (const e of reassembler.push(frame)) {
            if (e.kind !== 'message' || splitId(e.id).node > 4) continue;
            const opened = open(KEY, e.id, e.body, last.get(e.id) ?? 0);
            expect(opened.ok).toBe(true);
            if (opened.ok) {
              last.set(e.id, opened.fv);
              received.push({ id: e.id, fv: opened.fv, payload: opened.payload });
            }
          }
        }
        const byId = (list: { id: number; fv: number }[]) => [...list].sort((a, b) => a.id - b.id || a.fv - b.fv);
        expect(byId(received)).toEqual(byId(messages));
      }),
      RUNS,
    );
  });

  it('whatever frames arrive on meter identifiers, reassembly, MAC, freshness and decoding each give an outcome, never an exception', () => {
    // Frames biased towards real segment headers, lengths and identifiers of every function.
    const frame = fc.record({ fn: fc.integer({ min: 0, max: 15 }), node: fc.integer({ min: 0, max: 3 }), header: fc.integer({ min: 0, max: 255 }), rest: fc.uint8Array({ maxLength: 7 }) }).map(({ fn, node, header, rest }): CanFrame => {
      const data = Uint8Array.of(header, ...rest);
      return { id: canId(fn, node), extended: false, remote: false, dlc: data.length, data };
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(frame, fc.integer({ min: 0, max: 150 })), { maxLength: 80 }), (inputs) => {
        let t = 0;
        const reassembler = new Reassembler({ now: () => t });
        for (const [f, dt] of inputs) {
          t += dt;
          for (const e of reassembler.push(f)) {
            if (e.kind !== 'message') {
              expect(e.detail.length).toBeGreaterThan(0);
              continue;
            }
            const { fn } = splitId(e.id);
            if (e.body.length < SECURITY_OVERHEAD) continue;
            const problem = payloadLengthProblem(fn, e.body.subarray(0, e.body.length - SECURITY_OVERHEAD));
            const opened = open(KEY, e.id, e.body, 0);
            // a random body never carries a valid 64-bit MAC
            expect(opened.ok).toBe(false);
            if (!opened.ok) expect(opened.detail.length).toBeGreaterThan(0);
            if (problem === undefined && isFunctionCode(fn)) {
              const payload = e.body.subarray(0, e.body.length - SECURITY_OVERHEAD);
              const decoded = isCommandFunction(fn) ? decodeCommand(fn, payload) : decodeRecord(fn, payload);
              if (!decoded.ok) expect(decoded.detail.length).toBeGreaterThan(0);
            }
          }
        }
        for (const e of reassembler.expire()) expect(e.kind).toBe('dropped');
      }),
      RUNS,
    );
  });

  it('opens any payload it sealed, of any length it allows, on any identifier', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7ff }), fc.uint8Array({ maxLength: MAX_PAYLOAD_LENGTH }), fc.integer({ min: 1, max: 0xffffffff }), (id, payload, fv) => {
        const reassembler = new Reassembler({ now: () => 0 });
        const bodies = segment(id, seal(KEY, id, payload, fv)).flatMap((f) => reassembler.push(f).flatMap((e) => (e.kind === 'message' ? [e.body] : [])));
        expect(bodies).toHaveLength(1);
        expect(open(KEY, id, bodies[0] as Uint8Array, fv - 1)).toEqual({ ok: true, payload, fv });
      }),
      RUNS,
    );
  });

  it('refuses corrupt stored freshness with CorruptStoreError, and reads back what it saved', async () => {
    const text = fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.integer().map(String), fc.double().map(String), fc.constant('99999999999999999999'));
    await fc.assert(
      fc.asyncProperty(text, async (stored) => {
        for (const openIt of [() => SenderCounter.open(localStorageCounterStore('c', storage({ c: stored }))), () => ReceiverFreshness.open(localStorageLastFvStore('f', storage({ f: stored })))]) {
          try {
            await openIt();
          } catch (error) {
            expect(error).toBeInstanceOf(CorruptStoreError);
          }
        }
      }),
      { numRuns: 1000 },
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.stringMatching(/^[0-9a-f]{24}$/), fc.integer({ min: 1, max: 0xffffffff }), { maxKeys: 5 }), fc.integer({ min: 0, max: 0xffffff00 }), async (fvs, reserved) => {
        const kv = storage();
        const lastStore = localStorageLastFvStore('f', kv);
        for (const [uid, fv] of Object.entries(fvs)) await lastStore.save(uid, fv);
        const receiver = await ReceiverFreshness.open(localStorageLastFvStore('f', kv));
        for (const [uid, fv] of Object.entries(fvs)) expect(receiver.lastAccepted(uid)).toBe(fv);
        await localStorageCounterStore('c', kv).save(reserved);
        // After a restart the counter goes on past everything it may have used.
        expect((await SenderCounter.open(localStorageCounterStore('c', kv))).upcoming).toBe(reserved + 1);
      }),
      { numRuns: 200 },
    );
  });

  it('site keys and hex typed by the user parse or are refused, and hex round-trips', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b).replace(/(..)/g, '$1:').slice(0, -1))), (text) => {
        const key = parseSiteKey(text);
        if (key) {
          expect(key).toHaveLength(32);
          expect(toHex(key)).toBe(text.replace(/[\s:]/g, '').toLowerCase());
        }
        const bytes = parseHex(text);
        if (bytes) expect(toHex(bytes)).toBe(text.toLowerCase());
      }),
      { numRuns: 1000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void expect(parseHex(toHex(b))).toEqual(b)), RUNS);
  });
});
