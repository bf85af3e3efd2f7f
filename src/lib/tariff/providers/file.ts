/**
 * Prices from a file the user imports: CSV (a header row, then one row per interval) or JSON (an
 * array of objects). Columns or keys: `start` (or `from`), optionally `end` (or `to`), and `price`
 * (or `value`). Times are epoch ms or s, ISO 8601 with an offset, or local wall times read in the
 * given zone; without an end column each price lasts the file's step (the smallest gap between
 * starts). CSV may be comma, semicolon or tab separated; with semicolons or tabs a decimal comma is
 * read as a point. Any bad row rejects the whole file, naming the row: nothing half-imported.
 */
import type { PriceSlot } from '../slot';
import { type IntervalPrice, isRecord, malformed, parseInstant, type PriceUnit, toPerKwh, toSlots } from './common';

const NAME = 'The imported file';
const START_KEYS = ['start', 'from'];
const END_KEYS = ['end', 'to'];
const PRICE_KEYS = ['price', 'value'];

export interface FileImportOptions {
  readonly unit: PriceUnit;
  /** Zone of local times written without an offset. */
  readonly timeZone: string;
}

interface Row {
  readonly line: number;
  readonly start: unknown;
  readonly end: unknown;
  readonly price: unknown;
}

export function parsePriceFile(content: string, options: FileImportOptions): PriceSlot[] {
  const text = content.replace(/^\uFEFF/, '');
  const first = text.trimStart()[0];
  const rows = first === '[' || first === '{' ? jsonRows(text) : csvRows(text);
  if (rows.length === 0) throw malformed(NAME, 'it holds no prices');
  let previous: number | undefined;
  const timed = rows.map((row) => {
    const start = parseInstant(row.start, options.timeZone, previous);
    if (start === undefined) throw malformed(NAME, `${where(row)}: start ${JSON.stringify(row.start)} is not a time`);
    previous = start;
    const end = row.end === undefined || row.end === '' ? undefined : parseInstant(row.end, options.timeZone, start);
    if (row.end !== undefined && row.end !== '' && end === undefined) throw malformed(NAME, `${where(row)}: end ${JSON.stringify(row.end)} is not a time`);
    const price = readNumber(row.price);
    if (price === undefined) throw malformed(NAME, `${where(row)}: price ${JSON.stringify(row.price)} is not a number`);
    return { row, start, end, price };
  });
  let step = Infinity;
  if (timed.some((r) => r.end === undefined)) {
    const starts = [...new Set(timed.map((r) => r.start))].sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) step = Math.min(step, (starts[i] ?? 0) - (starts[i - 1] ?? 0));
    if (step === Infinity) throw malformed(NAME, 'with a single row and no end column the length of the interval is unknown; add an end column');
  }
  const intervals: IntervalPrice[] = timed.map((r) => ({ start: r.start, end: r.end ?? r.start + step, price: toPerKwh(r.price, options.unit) }));
  return toSlots(NAME, intervals);
}

const where = (row: Row): string => (row.line > 0 ? `line ${row.line}` : `entry ${-row.line}`);

function readNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const t = value.trim();
  return /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/.test(t) ? Number(t) : undefined;
}

function pick(record: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const key of Object.keys(record)) if (keys.includes(key.trim().toLowerCase())) return record[key];
  return undefined;
}

function jsonRows(text: string): Row[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed(NAME, 'it starts like JSON but is not valid JSON');
  }
  const list = Array.isArray(json) ? json : isRecord(json) ? (json.prices ?? json.data) : undefined;
  if (!Array.isArray(list)) throw malformed(NAME, 'the JSON is neither an array of prices nor an object with a "prices" array');
  return list.map((entry: unknown, i) => {
    if (!isRecord(entry)) throw malformed(NAME, `entry ${i + 1} is not an object`);
    return { line: -(i + 1), start: pick(entry, START_KEYS), end: pick(entry, END_KEYS), price: pick(entry, PRICE_KEYS) };
  });
}

/** RFC 4180 fields of one line (quotes, doubled quotes inside them). */
function splitCsvLine(line: string, delimiter: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields.map((f) => f.trim());
}

function csvRows(text: string): Row[] {
  const lines = text.split(/\r\n|\n|\r/);
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) throw malformed(NAME, 'it is empty');
  const header = lines[headerIndex] ?? '';
  const delimiter = [';', '\t', ','].map((d) => ({ d, n: header.split(d).length })).sort((a, b) => b.n - a.n)[0]?.d ?? ',';
  const names = splitCsvLine(header, delimiter).map((n) => n.toLowerCase());
  const column = (keys: readonly string[]): number => names.findIndex((n) => keys.includes(n));
  const startAt = column(START_KEYS);
  const endAt = column(END_KEYS);
  const priceAt = column(PRICE_KEYS);
  if (startAt < 0 || priceAt < 0) throw malformed(NAME, `the first line must name the columns, with "start" and "price" among them (found ${names.map((n) => JSON.stringify(n)).join(', ')})`);
  const rows: Row[] = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const fields = splitCsvLine(line, delimiter);
    const decimal = (v: string | undefined): string | undefined => (v !== undefined && delimiter !== ',' ? v.replace(/^(-?\d+),(\d+)$/, '$1.$2') : v);
    rows.push({ line: i + 1, start: fields[startAt], end: endAt >= 0 ? fields[endAt] : undefined, price: decimal(fields[priceAt]) });
  }
  return rows;
}
