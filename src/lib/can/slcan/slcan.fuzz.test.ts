/**
 * The slcan reader under fuzzing: whatever bytes an adapter (or a broken cable) sends, the
 * tokenizer and the line parser never throw, never wedge, and a frame line is read the same
 * however the USB packets cut it; what the encoder writes, the decoder reads back exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CanFrame, validated } from '../frame';
import { concatBytes } from '@noble/hashes/utils.js';
import { canFrameArb, chunked } from '../testing/arbitraries';
import { encodeFrame, MAX_LINE_LENGTH, parseToken, type SlcanMessage, SlcanTokenizer } from './codec';
import { ReplyTracker } from './replies';

const ascii = (text: string) => new TextEncoder().encode(text);
const KINDS = new Set(['frame', 'ok', 'tx-ok', 'error', 'status-flags', 'version', 'serial', 'bus-state', 'bus-errors', 'tx-event', 'invalid']);

/** Every message of a byte stream fed in the given chunks. */
function decode(chunks: readonly Uint8Array[], tokenizer = new SlcanTokenizer()): SlcanMessage[] {
  const out: SlcanMessage[] = [];
  for (const c of chunks) tokenizer.push(c, (token) => out.push(parseToken(token)));
  return out;
}

function wellFormed(m: SlcanMessage): void {
  expect(KINDS.has(m.kind)).toBe(true);
  if (m.kind === 'frame') expect(validated(m.frame)).toBe(m.frame);
  if (m.kind === 'invalid') expect(m.reason.length).toBeGreaterThan(0);
}

/** Bytes biased towards what slcan streams hold: hex digits, frame letters, CR, BELL, LF. */
const slcanishByte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x0d, 0x07, 0x0a, ...ascii('tTrRzZFVvNse0123456789ABCDEFabcdef')),
);
const slcanishBytes = fc.array(slcanishByte, { maxLength: 400 }).map((a) => Uint8Array.from(a));
const cuts = fc.array(fc.nat(), { maxLength: 12 });

/** A line that cannot be a frame or a reply: noise the adapter or the line put there. */
const noiseLine = fc
  .array(fc.integer({ min: 0x20, max: 0x7e }), { minLength: 1, maxLength: 60 })
  .filter((a) => !'tTrRzZ'.includes(String.fromCharCode(a[0] ?? 0x20)))
  .map((a) => String.fromCharCode(...a));

describe('slcan under fuzzing', () => {
  it('never throws on arbitrary bytes, and every message is one it knows', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), slcanishBytes), (bytes) => {
        for (const m of decode([bytes])) wellFormed(m);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads a stream the same however it is cut into packets', () => {
    fc.assert(
      fc.property(slcanishBytes, cuts, (bytes, at) => {
        const whole = new SlcanTokenizer();
        const pieces = new SlcanTokenizer();
        expect(decode(chunked(bytes, at), pieces)).toEqual(decode([bytes], whole));
        expect(pieces.pending).toBe(whole.pending);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads back every frame it writes, with either timestamp, whatever noise lines surround it', () => {
    const stamp = fc.oneof(fc.constant(''), fc.integer({ min: 0, max: 0xffff }).map((v) => v.toString(16).toUpperCase().padStart(4, '0')), fc.integer({ min: 0, max: 0xffffffff }).map((v) => v.toString(16).toUpperCase().padStart(8, '0')));
    const item = fc.oneof(
      fc.record({ frame: canFrameArb, stamp }).map(({ frame, stamp }) => ({ frame, line: `${encodeFrame(frame).slice(0, -1)}${stamp}\r` })),
      noiseLine.map((text) => ({ frame: undefined, line: `${text}\r` })),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), cuts, (items, at) => {
        const bytes = ascii(items.map((i) => i.line).join(''));
        const frames = decode(chunked(bytes, at)).flatMap((m) => (m.kind === 'frame' ? [m.frame] : []));
        expect(frames).toEqual(items.flatMap((i) => (i.frame ? [i.frame] : [])));
      }),
      { numRuns: 500 },
    );
  });

  it('a burst of garbage costs at most the line it is in: the next line is read', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), canFrameArb, (garbage, frame) => {
        // A CR ends whatever the garbage left open; the frame after it is intact.
        const messages = decode([concatBytes(garbage, ascii(`\r${encodeFrame(frame)}`))]);
        const last = messages.at(-1);
        expect(last).toEqual({ kind: 'frame', frame });
      }),
      { numRuns: 500 },
    );
  });

  it('never holds more than a line: an endless line is dropped, not buffered', () => {
    // Megabytes with no CR (a wrong baud rate): memory stays bounded, and the next line is read.
    const tokenizer = new SlcanTokenizer();
    const messages: SlcanMessage[] = [];
    const junk = new Uint8Array(1 << 20).fill(0x41);
    for (let i = 0; i < 4; i++) tokenizer.push(junk, (t) => messages.push(parseToken(t)));
    expect(tokenizer.pending).toBeLessThanOrEqual(MAX_LINE_LENGTH);
    tokenizer.push(ascii('\rt1230\r'), (t) => messages.push(parseToken(t)));
    expect(messages.map((m) => m.kind)).toEqual(['invalid', 'frame']);
  });

  it('the reply tracker takes any sequence of replies and commands without throwing or growing without bound', () => {
    const frame: CanFrame = validated({ id: 0x123, extended: false, remote: true, dlc: 0, data: new Uint8Array(0) });
    const command = fc.constantFrom({ kind: 'maybe', text: 'C' } as const, { kind: 'sync' } as const, { kind: 'config', text: 'S6' } as const, { kind: 'status' } as const, { kind: 'transmit', frame } as const);
    const step = fc.oneof(command.map((c) => ({ send: c })), slcanishBytes.map((b) => ({ bytes: b })), fc.integer({ min: 0, max: 3000 }).map((ms) => ({ wait: ms })));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let now = 0;
        const tracker = new ReplyTracker(() => now);
        let sent = 0;
        for (const s of steps) {
          if ('send' in s) {
            tracker.sent(s.send);
            sent++;
          } else if ('wait' in s) now += s.wait;
          else for (const m of decode([s.bytes])) tracker.reply(m);
          expect(tracker.pending).toBeLessThanOrEqual(sent);
        }
      }),
      { numRuns: 500 },
    );
  });
});
