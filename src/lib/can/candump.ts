/**
 * candump log files (can-utils `candump -L` / `-l`): one frame per line,
 * `(1436509052.249713) can0 123#DEADBEEF`. The frame notation is can-utils' (lib.c): 3 hex digits
 * for a standard identifier, 8 for an extended one, `#R` or `#R<dlc>` for a remote frame, optional
 * `.` between data bytes, `_<dlc>` for a raw DLC above 8, `##` for CAN FD, and error frames as
 * 8-digit identifiers with CAN_ERR_FLAG (0x20000000) set. `candump -x` adds ` T`/` R` for the
 * direction. Reading never throws: a bad line is reported with its number and the rest is kept.
 */
import { CAN_ERR_FLAG, decodeErrorFrame, type ErrorInfo } from './error-frame';
import { type CanFrame, formatFrame, validated } from './frame';

export type Direction = 'rx' | 'tx';

export type CandumpEntry =
  | { readonly kind: 'frame'; readonly timeUs: number; readonly iface: string; readonly frame: CanFrame; readonly direction?: Direction }
  | { readonly kind: 'error'; readonly timeUs: number; readonly iface: string; readonly error: ErrorInfo; readonly raw: Uint8Array; readonly classes: number; readonly direction?: Direction };

export interface CandumpProblem {
  /** 1-based. */
  readonly line: number;
  readonly text: string;
  readonly reason: string;
}

export interface CandumpLog {
  readonly entries: CandumpEntry[];
  readonly problems: CandumpProblem[];
}

const LINE = /^\((\d+)\.(\d{1,9})\)\s+(\S+)\s+(\S+)(?:\s+([TR]))?\s*$/;

/** Parses a candump log; blank lines and `#` comments are skipped. */
export function parseCandump(text: string): CandumpLog {
  const entries: CandumpEntry[] = [];
  const problems: CandumpProblem[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const problem = (reason: string) => problems.push({ line: index + 1, text: raw.length > 80 ? `${raw.slice(0, 77)}...` : raw, reason });
    const match = LINE.exec(line);
    if (!match) return problem('not a candump -L line: "(seconds.micros) interface id#data"');
    const [, seconds = '', fraction = '', iface = '', body = '', dir] = match;
    const timeUs = Number(seconds) * 1e6 + Math.floor(Number(fraction.padEnd(9, '0')) / 1000);
    if (!Number.isSafeInteger(timeUs)) return problem('timestamp out of range');
    const direction: Direction | undefined = dir === 'T' ? 'tx' : dir === 'R' ? 'rx' : undefined;
    const parsed = parseFrameText(body);
    if ('reason' in parsed) return problem(parsed.reason);
    const base = { timeUs, iface, ...(direction ? { direction } : {}) };
    if (parsed.kind === 'error') entries.push({ kind: 'error', ...base, error: parsed.error, raw: parsed.raw, classes: parsed.classes });
    else entries.push({ kind: 'frame', ...base, frame: parsed.frame });
  });
  return { entries, problems };
}

type ParsedFrame = { kind: 'frame'; frame: CanFrame } | { kind: 'error'; error: ErrorInfo; raw: Uint8Array; classes: number } | { reason: string };

/** `123#DEADBEEF`, `1ABCDEF0#R`, `123#R4`, `20000080#0000000000000000` (can-utils notation). */
export function parseFrameText(text: string): ParsedFrame {
  const hash = text.indexOf('#');
  if (hash < 0) return { reason: 'no # between identifier and data' };
  const idText = text.slice(0, hash);
  let rest = text.slice(hash + 1);
  if (rest.startsWith('#')) return { reason: 'a CAN FD frame (##): this app reads classic CAN only' };
  if (!/^[0-9A-Fa-f]+$/.test(idText) || (idText.length !== 3 && idText.length !== 8)) return { reason: `identifier "${idText}" is neither 3 nor 8 hex digits` };
  const rawId = Number.parseInt(idText, 16);
  const extended = idText.length === 8;
  if (rest.startsWith('R') || rest.startsWith('r')) {
    const dlcText = rest.slice(1);
    if (!/^[0-8]?$/.test(dlcText)) return { reason: `remote frame length "${dlcText}" is not 0-8` };
    return checked(rawId, extended, true, dlcText === '' ? 0 : Number(dlcText), new Uint8Array(0));
  }
  // `_<dlc>`: the raw DLC 9..F of an 8-byte classic frame; the frame itself is 8 bytes.
  const raw = /_([0-9A-Fa-f])$/.exec(rest);
  if (raw) rest = rest.slice(0, -2);
  const hex = rest.replace(/\./g, '');
  if (!/^([0-9A-Fa-f]{2})*$/.test(hex)) return { reason: `data "${rest}" is not whole hex bytes` };
  const data = Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
  if (extended && rawId & CAN_ERR_FLAG) {
    if (data.length !== 8) return { reason: `an error frame carries 8 bytes, not ${data.length}` };
    const classes = rawId & 0x1fffffff;
    return { kind: 'error', error: decodeErrorFrame(rawId, data), raw: data, classes };
  }
  if (rawId > 0x1fffffff) return { reason: `identifier 0x${idText} has flag bits set` };
  if (data.length > 8) return { reason: `${data.length} data bytes: more than classic CAN carries` };
  return checked(rawId, extended, false, data.length, data);
}

function checked(id: number, extended: boolean, remote: boolean, dlc: number, data: Uint8Array): ParsedFrame {
  try {
    return { kind: 'frame', frame: validated({ id, extended, remote, dlc, data }) };
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
}

/** `(1436509052.249713)`: seconds and six digits of µs, as candump prints them. */
export function formatTimestamp(timeUs: number): string {
  const us = Math.max(0, Math.round(timeUs));
  const seconds = Math.floor(us / 1e6);
  return `(${String(seconds).padStart(10, '0')}.${String(us % 1e6).padStart(6, '0')})`;
}

/** One log line. `withDirection` adds candump -x's ` T`/` R` (not every tool reads it). */
export function formatCandumpLine(entry: CandumpEntry, withDirection = false): string {
  // can-utils writes a remote frame of length 0 as `123#R`.
  const frameText = (f: CanFrame) => (f.remote && f.dlc === 0 ? formatFrame(f).slice(0, -1) : formatFrame(f));
  const body = entry.kind === 'frame' ? frameText(entry.frame) : `${(CAN_ERR_FLAG | entry.classes).toString(16).toUpperCase().padStart(8, '0')}#${Array.from(entry.raw, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join('')}`;
  const dir = withDirection && entry.direction ? ` ${entry.direction === 'tx' ? 'T' : 'R'}` : '';
  return `${formatTimestamp(entry.timeUs)} ${entry.iface} ${body}${dir}`;
}

/** A whole log, one line per entry, ending in a newline. */
export function formatCandump(entries: Iterable<CandumpEntry>, withDirection = false): string {
  let out = '';
  for (const entry of entries) out += `${formatCandumpLine(entry, withDirection)}\n`;
  return out;
}
