/**
 * The slcan (LAWICEL) ASCII protocol as pure functions and TransformStreams. No I/O here: the
 * Web Serial and WebUSB drivers and the adapter emulator all reuse these pieces.
 *
 * Facts (shared/reference/can-adapters.md §1): lines end with CR; an error reply is a lone BELL
 * (0x07) with no CR; frames are `tiiiL<data>`, `Tiiiiiiiil<data>`, `riiiL`, `RiiiiiiiiL` in hex,
 * optionally followed by a 4-hex-digit millisecond timestamp (or 8 hex digits of microseconds on the
 * Nakakiyo firmware). We never send LF, and never depend on an acknowledgement.
 */
import { type CanFrame, CanFrameError, validated } from '../frame';
import type { BusErrorKind, BusState } from '../transport';

const CR = 0x0d;
const BELL = 0x07;
const LF = 0x0a;

/** Longest line any supported firmware sends for a classic frame, with µs timestamp and ESI flag. */
export const MAX_LINE_LENGTH = 40;

/** A line (or a BELL) as the adapter sent it. */
export type SlcanToken =
  | { readonly kind: 'line'; readonly text: string }
  | { readonly kind: 'bell' }
  /** Bytes that cannot belong to any line. */
  | { readonly kind: 'garbage'; readonly text: string };

/** What a line from the adapter means. */
export type SlcanMessage =
  | { readonly kind: 'frame'; readonly frame: CanFrame; readonly timestamp?: SlcanTimestamp }
  /** Bare CR: a command was accepted. */
  | { readonly kind: 'ok' }
  /** `z`/`Z`: a transmit request was accepted. */
  | { readonly kind: 'tx-ok' }
  /** BELL: a command was refused. */
  | { readonly kind: 'error' }
  | { readonly kind: 'status-flags'; readonly flags: number }
  | { readonly kind: 'version'; readonly text: string }
  | { readonly kind: 'serial'; readonly text: string }
  /** `s<a|w|p|b><rx><tx>`: the controller's state and error counters (Linux slcan state line). */
  | { readonly kind: 'bus-state'; readonly state: BusState; readonly rxErrors: number; readonly txErrors: number }
  /** `e<n><codes>`: bus errors the adapter saw (Linux slcan error line). */
  | { readonly kind: 'bus-errors'; readonly errors: readonly BusErrorKind[] }
  /** `z…`/`Z…` followed by a frame: the firmware's report that one of our frames went out. */
  | { readonly kind: 'tx-event'; readonly text: string }
  /** Anything we could not read; kept so the bus monitor can show it. */
  | { readonly kind: 'invalid'; readonly text: string; readonly reason: string };

export interface SlcanTimestamp {
  readonly value: number;
  readonly unit: 'ms' | 'us';
}

const HEX = '0123456789ABCDEF';

function hex(value: number, digits: number): string {
  let out = '';
  for (let i = digits - 1; i >= 0; i--) out += HEX[(value >>> (4 * i)) & 0xf];
  return out;
}

/** The transmit command for a frame, CR included. */
export function encodeFrame(frame: CanFrame): string {
  const letter = frame.remote ? (frame.extended ? 'R' : 'r') : frame.extended ? 'T' : 't';
  let out = letter + hex(frame.id, frame.extended ? 8 : 3) + HEX[frame.dlc];
  if (!frame.remote) for (const byte of frame.data) out += hex(byte, 2);
  return out + '\r';
}

function parseHex(text: string): number | undefined {
  if (text.length === 0 || !/^[0-9A-Fa-f]+$/.test(text)) return undefined;
  return Number.parseInt(text, 16);
}

/** Reads one frame line (`t`, `T`, `r`, `R`), with or without a timestamp suffix. */
export function parseFrameLine(text: string): SlcanMessage {
  const letter = text[0];
  const extended = letter === 'T' || letter === 'R';
  const remote = letter === 'r' || letter === 'R';
  const idDigits = extended ? 8 : 3;
  const invalid = (reason: string): SlcanMessage => ({ kind: 'invalid', text, reason });
  if (text.length < 2 + idDigits) return invalid('frame line too short');
  const id = parseHex(text.slice(1, 1 + idDigits));
  if (id === undefined) return invalid('identifier is not hex');
  const dlcChar = text[1 + idDigits] ?? '';
  if (!/^[0-8]$/.test(dlcChar)) return invalid(`data length code '${dlcChar}' is not 0-8`);
  const dlc = Number(dlcChar);
  const dataStart = 2 + idDigits;
  const dataDigits = remote ? 0 : 2 * dlc;
  const rest = text.length - dataStart - dataDigits;
  // After the data may come a timestamp: 4 hex digits (ms) or 8 (µs), possibly one ESI character.
  if (rest < 0) return invalid(`${dlc} data bytes announced, ${Math.max(0, text.length - dataStart) / 2} present`);
  if (rest !== 0 && rest !== 4 && rest !== 8 && rest !== 5 && rest !== 9) return invalid('unexpected trailing characters');
  const data = new Uint8Array(remote ? 0 : dlc);
  for (let i = 0; i < data.length; i++) {
    const byte = parseHex(text.slice(dataStart + 2 * i, dataStart + 2 * i + 2));
    if (byte === undefined) return invalid('data is not hex');
    data[i] = byte;
  }
  let timestamp: SlcanTimestamp | undefined;
  if (rest >= 4) {
    const digits = rest >= 8 ? 8 : 4;
    const value = parseHex(text.slice(dataStart + dataDigits, dataStart + dataDigits + digits));
    if (value === undefined) return invalid('timestamp is not hex');
    timestamp = { value, unit: digits === 8 ? 'us' : 'ms' };
  }
  try {
    const frame = validated({ id, extended, remote, dlc, data });
    return timestamp ? { kind: 'frame', frame, timestamp } : { kind: 'frame', frame };
  } catch (error) {
    if (error instanceof CanFrameError) return invalid(error.message);
    throw error;
  }
}

/** Meaning of one token from the adapter. */
export function parseToken(token: SlcanToken): SlcanMessage {
  if (token.kind === 'bell') return { kind: 'error' };
  if (token.kind === 'garbage') return { kind: 'invalid', text: token.text, reason: 'garbage bytes' };
  const text = token.text;
  if (text === '') return { kind: 'ok' };
  if (text === 'z' || text === 'Z') return { kind: 'tx-ok' };
  switch (text[0]) {
    case 't':
    case 'T':
    case 'r':
    case 'R':
      return parseFrameLine(text);
    case 'F': {
      const flags = text.length === 3 ? parseHex(text.slice(1)) : undefined;
      return flags === undefined ? { kind: 'invalid', text, reason: 'status flags are not two hex digits' } : { kind: 'status-flags', flags };
    }
    case 'V':
    case 'v':
      return { kind: 'version', text: text.slice(1) };
    case 'N':
      return { kind: 'serial', text: text.slice(1) };
    case 's':
      return parseStateLine(text);
    case 'e':
      return parseErrorLine(text);
    case 'z':
    case 'Z':
      return { kind: 'tx-event', text };
    default:
      return { kind: 'invalid', text, reason: 'unknown line' };
  }
}

const STATE_LETTERS: Readonly<Record<string, BusState>> = { a: 'error-active', w: 'error-warning', p: 'error-passive', b: 'bus-off' };

/** `sa057033`: active, 57 receive errors, 33 transmit errors. */
function parseStateLine(text: string): SlcanMessage {
  const state = STATE_LETTERS[text[1] ?? ''];
  const match = /^s[awpb](\d{3})(\d{3})$/.exec(text);
  if (!state || !match) return { kind: 'invalid', text, reason: 'state line is not s<a|w|p|b><3 digits><3 digits>' };
  return { kind: 'bus-state', state, rxErrors: Number(match[1]), txErrors: Number(match[2]) };
}

const ERROR_CODES: Readonly<Record<string, BusErrorKind>> = {
  a: 'ack',
  b: 'bit',
  B: 'bit',
  c: 'crc',
  f: 'form',
  s: 'stuff',
  o: 'rx-overflow',
  O: 'tx-overflow',
};

/** `e3bcO`: three errors, a bit-0 error, a CRC error, a transmit overrun. */
function parseErrorLine(text: string): SlcanMessage {
  const count = Number(text[1]);
  const codes = text.slice(2);
  if (!/^[1-8]$/.test(text[1] ?? '') || codes.length !== count) return { kind: 'invalid', text, reason: 'error line is not e<n><n codes>' };
  const errors: BusErrorKind[] = [];
  for (const code of codes) {
    const kind = ERROR_CODES[code];
    if (!kind) return { kind: 'invalid', text, reason: `unknown error code '${code}'` };
    errors.push(kind);
  }
  return { kind: 'bus-errors', errors };
}

/**
 * Splits the adapter's byte stream into tokens. USB packets may cut a line anywhere or carry
 * several; bytes that cannot be part of a line (control characters, non-ASCII) and lines longer
 * than any firmware sends are reported as invalid and skipped, so one bad burst cannot wedge the
 * reader.
 */
export class SlcanTokenizer {
  #line: number[] = [];
  #overflowed = false;

  /** Feeds bytes; calls `emit` for every complete token, in order. */
  push(bytes: Uint8Array, emit: (token: SlcanToken) => void): void {
    for (const byte of bytes) {
      if (byte === CR) {
        if (this.#overflowed) emit({ kind: 'garbage', text: `line over ${MAX_LINE_LENGTH} characters dropped` });
        else emit({ kind: 'line', text: String.fromCharCode(...this.#line) });
        this.#line = [];
        this.#overflowed = false;
      } else if (byte === BELL) {
        if (this.#line.length > 0) emit({ kind: 'garbage', text: printable(this.#line) });
        this.#line = [];
        this.#overflowed = false;
        emit({ kind: 'bell' });
      } else if (byte === LF) {
        // Some firmwares send CR LF; LF alone carries no meaning.
      } else if (byte < 0x20 || byte > 0x7e) {
        emit({ kind: 'garbage', text: `byte 0x${hex(byte, 2)}` });
      } else if (this.#line.length >= MAX_LINE_LENGTH) {
        this.#overflowed = true;
      } else {
        this.#line.push(byte);
      }
    }
  }

  /** Bytes of an incomplete line, e.g. when the device went away mid-frame. */
  get pending(): number {
    return this.#line.length;
  }
}

function printable(chars: number[]): string {
  return String.fromCharCode(...chars).replace(/[^\x20-\x7e]/g, '?');
}

/** Bytes → messages, as a TransformStream; pass a tokenizer to learn what was left pending. */
export function slcanDecoderStream(tokenizer = new SlcanTokenizer()): TransformStream<Uint8Array, SlcanMessage> {
  return new TransformStream({
    transform(chunk, controller) {
      tokenizer.push(chunk, (token) => controller.enqueue(parseToken(token)));
    },
  });
}

/**
 * Bytes → the messages of each chunk as one array: a USB transfer carries dozens of lines, and one
 * stream hop per chunk instead of per line is what lets a driver keep up with a full 1 Mbit/s bus.
 */
export function slcanBatchDecoderStream(tokenizer = new SlcanTokenizer()): TransformStream<Uint8Array, SlcanMessage[]> {
  return new TransformStream({
    transform(chunk, controller) {
      const messages: SlcanMessage[] = [];
      tokenizer.push(chunk, (token) => messages.push(parseToken(token)));
      if (messages.length > 0) controller.enqueue(messages);
    },
  });
}

const encoder = new TextEncoder();

/** Frames → bytes, as a TransformStream. */
export function slcanEncoderStream(): TransformStream<CanFrame, Uint8Array> {
  return new TransformStream({
    transform(frame, controller) {
      controller.enqueue(encoder.encode(encodeFrame(validated(frame))));
    },
  });
}
