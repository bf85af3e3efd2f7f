/**
 * Fixed little-endian layouts: the payload tables of docs/protocol.md §4-5 written down once and
 * read by one encoder and one decoder, so field order, widths and offsets live in a single place.
 *
 * A layout lists the payload byte by byte in the spec's order: named fields, and `reserved(n)` for
 * the padding that keeps every field inside one 7-byte frame chunk. Reserved bytes are written as
 * 0 and skipped on read, so a receiver ignores whatever a sender put there.
 */
import { UID_LENGTH } from './keys';

export type WireType = 'u8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u48' | 'uid';
export type WireValue = number | Uint8Array;

/** `count` bytes sent as 0 and ignored on receive. */
export interface Reserved {
  readonly reserved: number;
}
export type LayoutEntry<T> = readonly [keyof T & string, WireType] | Reserved;
export type Layout<T> = readonly LayoutEntry<T>[];

export function reserved(count = 1): Reserved {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`reserved(${count}): a positive whole number of bytes`);
  return { reserved: count };
}

/** A named field of a layout and where it sits, relative to the layout's start. */
export interface PlacedField {
  readonly name: string;
  readonly type: WireType;
  readonly offset: number;
  readonly size: number;
}

const SIZES: Readonly<Record<WireType, number>> = { u8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u48: 6, uid: UID_LENGTH };
const RANGES: Readonly<Record<Exclude<WireType, 'uid'>, readonly [number, number]>> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
  u48: [0, 2 ** 48 - 1],
};

function isReserved<T>(entry: LayoutEntry<T>): entry is Reserved {
  return 'reserved' in entry;
}

function entrySize<T>(entry: LayoutEntry<T>): number {
  return isReserved(entry) ? entry.reserved : SIZES[entry[1]];
}

export function layoutSize<T>(layout: Layout<T>): number {
  return layout.reduce((sum, entry) => sum + entrySize(entry), 0);
}

/** The named fields in order with their offsets; reserved bytes are skipped. */
export function layoutFields<T>(layout: Layout<T>): PlacedField[] {
  const fields: PlacedField[] = [];
  let at = 0;
  for (const entry of layout) {
    if (!isReserved(entry)) fields.push({ name: entry[0], type: entry[1], offset: at, size: SIZES[entry[1]] });
    at += entrySize(entry);
  }
  return fields;
}

/** The offset of field `name` from the layout's start; throws if the layout has no such field. */
export function fieldOffset<T>(layout: Layout<T>, name: keyof T & string): number {
  const field = layoutFields(layout).find((f) => f.name === name);
  if (!field) throw new RangeError(`the layout has no field ${name}`);
  return field.offset;
}

/**
 * Writes `fields` at `offset`, reserved bytes as 0; throws RangeError for a missing field or one
 * that does not fit its type.
 */
export function writeLayout<T>(layout: Layout<T>, fields: T, target: Uint8Array, offset = 0): void {
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  let at = offset;
  for (const entry of layout) {
    if (isReserved(entry)) {
      target.fill(0, at, at + entry.reserved);
      at += entry.reserved;
      continue;
    }
    const [name, type] = entry;
    const value: unknown = fields[name];
    if (type === 'uid') {
      if (!(value instanceof Uint8Array) || value.length !== UID_LENGTH) throw new RangeError(`${name} must be ${UID_LENGTH} bytes`);
      target.set(value, at);
    } else {
      const [min, max] = RANGES[type];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new RangeError(`${name} = ${String(value)} does not fit ${type}`);
      }
      writeNumber(view, at, type, value);
    }
    at += SIZES[type];
  }
}

export function encodeLayout<T>(layout: Layout<T>, fields: T, prefix: readonly number[] = []): Uint8Array {
  const bytes = new Uint8Array(prefix.length + layoutSize(layout));
  bytes.set(prefix);
  writeLayout(layout, fields, bytes, prefix.length);
  return bytes;
}

/** Reads a layout from `offset`, skipping reserved bytes; the caller has checked the length. */
export function readLayout<T>(layout: Layout<T>, source: Uint8Array, offset = 0): T {
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  const fields: Record<string, WireValue> = {};
  for (const { name, type, offset: at } of layoutFields(layout)) {
    fields[name] = type === 'uid' ? source.slice(offset + at, offset + at + UID_LENGTH) : readNumber(view, offset + at, type);
  }
  return fields as unknown as T;
}

function writeNumber(view: DataView, at: number, type: Exclude<WireType, 'uid'>, value: number): void {
  switch (type) {
    case 'u8':
      view.setUint8(at, value);
      return;
    case 'u16':
      view.setUint16(at, value, true);
      return;
    case 'i16':
      view.setInt16(at, value, true);
      return;
    case 'u32':
      view.setUint32(at, value, true);
      return;
    case 'i32':
      view.setInt32(at, value, true);
      return;
    case 'u48':
      view.setUint32(at, value % 2 ** 32, true);
      view.setUint16(at + 4, Math.floor(value / 2 ** 32), true);
      return;
  }
}

function readNumber(view: DataView, at: number, type: Exclude<WireType, 'uid'>): number {
  switch (type) {
    case 'u8':
      return view.getUint8(at);
    case 'u16':
      return view.getUint16(at, true);
    case 'i16':
      return view.getInt16(at, true);
    case 'u32':
      return view.getUint32(at, true);
    case 'i32':
      return view.getInt32(at, true);
    case 'u48':
      return view.getUint32(at, true) + view.getUint16(at + 4, true) * 2 ** 32;
  }
}
