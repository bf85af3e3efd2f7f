import { describe, expect, it } from 'vitest';
import { payloadLayouts } from './records';
import { SECURITY_OVERHEAD } from './secure';
import { BODY_BYTES_PER_FRAME } from './segmentation';
import { snakeCase } from './vectors';
import { encodeLayout, fieldOffset, type Layout, layoutFields, layoutSize, readLayout, reserved } from './wire';

/** One row of a spec table: offset, field, type ('reserved ×n' and 'n bytes' as the spec writes them). */
type SpecRow = readonly [offset: number, field: string, type: string];
interface SpecTable {
  readonly length: number;
  /** Frames of a record, as its heading states; commands state none. */
  readonly frames?: number;
  readonly rows: readonly SpecRow[];
}

/**
 * docs/protocol.md §4 and §5, copied by hand: payload lengths from the "Payload lengths" line and
 * the record headings, offsets from the tables. Edit this only together with the spec.
 */
const SPEC: Readonly<Record<string, SpecTable>> = {
  // §4: offset: field
  RELAY: { length: 1, rows: [[0, 'state', 'u8']] },
  TIME: { length: 6, rows: [[0, 'unix_ms', 'u48']] },
  SET_THRESHOLDS: {
    length: 11,
    rows: [
      [0, 'opcode', 'u8'],
      [1, 'dip', 'u16'],
      [3, 'swell', 'u16'],
      [5, 'hysteresis', 'u16'],
      [7, 'udin', 'u32'],
    ],
  },
  IDENTIFY: {
    length: 2,
    rows: [
      [0, 'opcode', 'u8'],
      [1, 'seconds', 'u8'],
    ],
  },
  CLEAR_ENERGY_ARM: { length: 1, rows: [[0, 'opcode', 'u8']] },
  CLEAR_ENERGY_CONFIRM: {
    length: 34,
    rows: [
      [0, 'opcode', 'u8'],
      [1, 'challenge', 'u32'],
      [5, 'reserved', 'reserved ×2'],
      [7, 'uid_0', '7 bytes'],
      [14, 'uid_1', '5 bytes'],
      [19, 'reserved', 'reserved ×2'],
      [21, 'import_mwh', 'u48'],
      [27, 'reserved', 'reserved'],
      [28, 'export_mwh', 'u48'],
    ],
  },
  READ_AGGREGATES: {
    length: 6,
    rows: [
      [0, 'opcode', 'u8'],
      [1, 'from_s', 'u32'],
      [5, 'max_count', 'u8'],
    ],
  },
  READ_EVENTS: {
    length: 4,
    rows: [
      [0, 'opcode', 'u8'],
      [1, 'from_seq', 'u16'],
      [3, 'max_count', 'u8'],
    ],
  },
  // §5: offset | field | type
  ACK: {
    length: 11,
    frames: 4,
    rows: [
      [0, 'command_fv', 'u32'],
      [4, 'function', 'u8'],
      [5, 'opcode', 'u8'],
      [6, 'result', 'u8'],
      [7, 'value', 'u32'],
    ],
  },
  SNAPSHOT: {
    length: 28,
    frames: 6,
    rows: [
      [0, 'time_s', 'u32'],
      [4, 'time_cs', 'u8'],
      [5, 'vrms', 'u16'],
      [7, 'p', 'i32'],
      [11, 'irms', 'u16'],
      [13, 'flags', 'u8'],
      [14, 'n', 'u32'],
      [18, 'pf', 'i16'],
      [20, 'reserved', 'u8'],
      [21, 'f', 'u16'],
      [23, 'thd_v', 'u16'],
      [25, 'thd_i', 'u16'],
      [27, 'reserved', 'u8'],
    ],
  },
  ENERGY: {
    length: 23,
    frames: 5,
    rows: [
      [0, 'import_mwh', 'u48'],
      [6, 'flags', 'u8'],
      [7, 'export_mwh', 'u48'],
      [13, 'reserved', 'u8'],
      [14, 'time_s', 'u32'],
      [18, 'epoch', 'u16'],
      [20, 'reserved', 'u8'],
      [21, 'boots', 'u16'],
    ],
  },
  STATUS: {
    length: 35,
    frames: 7,
    rows: [
      [0, 'protocol', 'u8'],
      [1, 'firmware', 'u16'],
      [3, 'build', 'u16'],
      [5, 'flags', 'u8'],
      [6, 'tec', 'u8'],
      [7, 'uid_0', '7 bytes'],
      [14, 'uid_1', '5 bytes'],
      [19, 'boots', 'u16'],
      [21, 'uptime_s', 'u32'],
      [25, 'rejected_mac', 'u16'],
      [27, 'rec', 'u8'],
      [28, 'rejected_stale', 'u16'],
      [30, 'rejected_malformed', 'u16'],
      [32, 'rate_limited', 'u16'],
      [34, 'reserved', 'u8'],
    ],
  },
  AGGREGATE: {
    length: 42,
    frames: 8,
    rows: [
      [0, 'start_s', 'u32'],
      [4, 'flags', 'u8'],
      [5, 'f_mean', 'u16'],
      [7, 'p_mean', 'i32'],
      [11, 'vrms_mean', 'u16'],
      [13, 'reserved', 'u8'],
      [14, 'p_min', 'i32'],
      [18, 'vrms_min', 'u16'],
      [20, 'reserved', 'u8'],
      [21, 'p_max', 'i32'],
      [25, 'vrms_max', 'u16'],
      [27, 'reserved', 'u8'],
      [28, 'import_mwh', 'u32'],
      [32, 'thd_v', 'u16'],
      [34, 'reserved', 'u8'],
      [35, 'export_mwh', 'u32'],
      [39, 'thd_i', 'u16'],
      [41, 'reserved', 'u8'],
    ],
  },
  EVENT: {
    length: 16,
    frames: 4,
    rows: [
      [0, 'start_s', 'u32'],
      [4, 'seq', 'u16'],
      [6, 'kind', 'u8'],
      [7, 'duration_ms', 'u32'],
      [11, 'start_ms', 'u16'],
      [13, 'reserved', 'u8'],
      [14, 'extreme', 'u16'],
    ],
  },
};

const TYPE_SIZES: Readonly<Record<string, number>> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u48: 6 };

function specSize(type: string): number {
  const bytes = /^(\d+) bytes$/.exec(type);
  if (bytes) return Number(bytes[1]);
  const reservedBytes = /^reserved(?: ×(\d+))?$/.exec(type);
  if (reservedBytes) return Number(reservedBytes[1] ?? 1);
  const size = TYPE_SIZES[type];
  if (size === undefined) throw new Error(`unknown spec type ${type}`);
  return size;
}

/** Frame chunk of a body offset: the payload starts the body, so payload offset = body offset. */
const chunkOf = (offset: number) => Math.floor(offset / BODY_BYTES_PER_FRAME);
const insideOneChunk = (offset: number, size: number) => chunkOf(offset) === chunkOf(offset + size - 1);

/** The code's named fields as spec rows: snake_case, the 12-byte uid as the spec's uid_0 and uid_1. */
function codeRows(name: string): { offset: number; field: string; size: number }[] {
  const layout = payloadLayouts()[name];
  if (!layout) throw new Error(`no layout ${name}`);
  return layout.fields.flatMap(({ name: field, offset, size }) =>
    field === 'uid'
      ? [
          { offset, field: 'uid_0', size: 7 },
          { offset: offset + 7, field: 'uid_1', size: size - 7 },
        ]
      : [{ offset, field: snakeCase(field), size }],
  );
}

describe('payload layouts against docs/protocol.md §4-5', () => {
  it('cover every command, CONTROL opcode and record, and nothing else', () => {
    expect(Object.keys(payloadLayouts()).sort()).toEqual(Object.keys(SPEC).sort());
  });

  it('the copied spec tables are consistent: contiguous rows, stated lengths and frame counts', () => {
    for (const [name, table] of Object.entries(SPEC)) {
      let at = 0;
      for (const [offset, field, type] of table.rows) {
        expect(offset, `${name}.${field}`).toBe(at);
        at += specSize(type);
      }
      expect(at, name).toBe(table.length);
      if (table.frames !== undefined) expect(Math.ceil((table.length + SECURITY_OVERHEAD) / BODY_BYTES_PER_FRAME), name).toBe(table.frames);
    }
  });

  for (const [name, table] of Object.entries(SPEC)) {
    it(`${name}: every field at the spec's offset with the spec's width, reserved bytes where the spec has them`, () => {
      const layout = payloadLayouts()[name];
      expect(layout?.length).toBe(table.length);
      const expected = table.rows.filter(([, field]) => field !== 'reserved').map(([offset, field, type]) => ({ offset, field, size: specSize(type) }));
      expect(codeRows(name)).toEqual(expected);
    });
  }

  it('no field straddles a 7-byte frame chunk of the body; the uid splits exactly at one', () => {
    for (const [name, layout] of Object.entries(payloadLayouts())) {
      for (const { name: field, offset, size } of layout.fields) {
        if (field === 'uid') {
          // uid_0 fills one chunk, uid_1 starts the next.
          expect(offset % BODY_BYTES_PER_FRAME, `${name}.uid`).toBe(0);
          expect(insideOneChunk(offset + BODY_BYTES_PER_FRAME, size - BODY_BYTES_PER_FRAME), `${name}.uid_1`).toBe(true);
        } else {
          expect(insideOneChunk(offset, size), `${name}.${field} at ${offset}, ${size} bytes`).toBe(true);
        }
      }
      for (const [offset, field, type] of SPEC[name]?.rows ?? []) {
        expect(insideOneChunk(offset, specSize(type)), `spec ${name}.${field}`).toBe(true);
      }
    }
  });
});

describe('reserved bytes in a layout', () => {
  interface Pair {
    readonly a: number;
    readonly b: number;
  }
  const LAYOUT: Layout<Pair> = [['a', 'u16'], reserved(2), ['b', 'u8'], reserved()];

  it('count in the size and the offsets', () => {
    expect(layoutSize(LAYOUT)).toBe(6);
    expect(layoutFields(LAYOUT)).toEqual([
      { name: 'a', type: 'u16', offset: 0, size: 2 },
      { name: 'b', type: 'u8', offset: 4, size: 1 },
    ]);
    expect(fieldOffset(LAYOUT, 'b')).toBe(4);
  });

  it('are written as 0 and skipped on read', () => {
    expect([...encodeLayout(LAYOUT, { a: 0x0102, b: 3 }, [0xee])]).toEqual([0xee, 0x02, 0x01, 0, 0, 3, 0]);
    expect(readLayout(LAYOUT, Uint8Array.from([0x02, 0x01, 0xff, 0xff, 3, 0xff]))).toEqual({ a: 0x0102, b: 3 });
  });

  it('must be a positive whole number of bytes', () => {
    expect(() => reserved(0)).toThrow(RangeError);
    expect(() => reserved(1.5)).toThrow(RangeError);
  });
});
