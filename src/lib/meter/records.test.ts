import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FunctionCode, type RecordFunction } from './ids';
import { fromHex, toHex } from './keys';
import {
  ACK_LENGTH,
  AGGREGATE_LENGTH,
  type AckFields,
  type AggregateFields,
  type Command,
  controlLength,
  controlOpcodeName,
  ControlOpcode,
  decodeAck,
  decodeAggregate,
  decodeCommand,
  decodeControl,
  decodeEnergy,
  decodeEvent,
  decodeRecord,
  decodeRelay,
  decodeSnapshot,
  decodeStatus,
  decodeTime,
  type DecodeResult,
  encodeAck,
  encodeAggregate,
  encodeCommand,
  encodeEnergy,
  encodeEvent,
  encodeSnapshot,
  encodeStatus,
  ENERGY_LENGTH,
  type EnergyFields,
  EVENT_LENGTH,
  type EventFields,
  MAX_UNIX_MS,
  payloadFieldNames,
  payloadLayouts,
  payloadLengthProblem,
  RECORD_LENGTHS,
  SNAPSHOT_LENGTH,
  type SnapshotFields,
  STATUS_LENGTH,
  STATUS_UID_OFFSET,
  type StatusFields,
} from './records';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const u48 = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const uid = fc.uint8Array({ minLength: 12, maxLength: 12 });

const ackFields: fc.Arbitrary<AckFields> = fc.oneof(
  fc.record({ function: fc.constantFrom(0, 1), opcode: fc.constant(0), commandFv: u32, result: fc.integer({ min: 0, max: 6 }), value: u32 }),
  fc.record({ function: fc.constant(2), opcode: u8, commandFv: u32, result: fc.integer({ min: 0, max: 6 }), value: u32 }),
);
const snapshotFields: fc.Arbitrary<SnapshotFields> = fc.record({
  timeS: u32,
  timeCs: fc.integer({ min: 0, max: 99 }),
  flags: u8,
  vrms: u16,
  irms: u16,
  p: i32,
  n: u32,
  pf: fc.integer({ min: -10000, max: 10000 }),
  f: u16,
  thdV: u16,
  thdI: u16,
});
const energyFields: fc.Arbitrary<EnergyFields> = fc.record({ timeS: u32, flags: u8, importMwh: u48, exportMwh: u48, epoch: u16, boots: u16 });
const statusFields: fc.Arbitrary<StatusFields> = fc.record({
  protocol: fc.constant(1),
  firmware: u16,
  build: u16,
  uid,
  flags: u8,
  uptimeS: u32,
  boots: u16,
  rejectedMac: u16,
  rejectedStale: u16,
  rejectedMalformed: u16,
  rateLimited: u16,
  tec: u8,
  rec: u8,
});
const aggregateFields: fc.Arbitrary<AggregateFields> = fc.record({
  startS: fc.integer({ min: 0, max: Math.floor(0xffffffff / 600) }).map((k) => k * 600),
  flags: u8,
  vrmsMean: u16,
  vrmsMin: u16,
  vrmsMax: u16,
  pMean: i32,
  pMin: i32,
  pMax: i32,
  fMean: u16,
  thdV: u16,
  thdI: u16,
  importMwh: u32,
  exportMwh: u32,
});
const eventFields: fc.Arbitrary<EventFields> = fc.record({
  seq: u16,
  kind: fc.integer({ min: 1, max: 3 }),
  startS: u32,
  startMs: fc.integer({ min: 0, max: 999 }),
  durationMs: u32,
  extreme: u16,
});

const control = FunctionCode.CONTROL;
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ function: fc.constant(FunctionCode.RELAY), state: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ function: fc.constant(FunctionCode.TIME), unixMs: fc.integer({ min: 0, max: MAX_UNIX_MS }) }),
  fc
    .record({ a: u16, b: u16, hysteresis: fc.integer({ min: 0, max: 999 }), udin: fc.integer({ min: 1, max: 0xffffffff }) })
    .filter(({ a, b }) => a !== b)
    .map(({ a, b, hysteresis, udin }) => ({
      function: control,
      opcode: ControlOpcode.SET_THRESHOLDS,
      dip: Math.min(a, b),
      swell: Math.max(a, b),
      hysteresis,
      udin,
    })),
  fc.record({ function: fc.constant(control), opcode: fc.constant(ControlOpcode.IDENTIFY), seconds: u8 }),
  fc.constant({ function: control, opcode: ControlOpcode.CLEAR_ENERGY_ARM }),
  fc.record({ function: fc.constant(control), opcode: fc.constant(ControlOpcode.CLEAR_ENERGY_CONFIRM), challenge: u32, uid, importMwh: u48, exportMwh: u48 }),
  fc.record({ function: fc.constant(control), opcode: fc.constant(ControlOpcode.READ_AGGREGATES), fromS: u32, maxCount: fc.integer({ min: 0, max: 16 }) }),
  fc.record({ function: fc.constant(control), opcode: fc.constant(ControlOpcode.READ_EVENTS), fromSeq: u16, maxCount: fc.integer({ min: 0, max: 16 }) }),
);

/** Payload offsets no field covers: the layout's reserved bytes. */
function reservedOffsets(layoutName: string): number[] {
  const layout = payloadLayouts()[layoutName];
  if (!layout) throw new Error(`no layout ${layoutName}`);
  const covered = new Set(layout.fields.flatMap((f) => Array.from({ length: f.size }, (_, i) => f.offset + i)));
  return Array.from({ length: layout.length }, (_, i) => i).filter((i) => !covered.has(i));
}

function withoutReserved(layoutName: string, payload: Uint8Array): Uint8Array {
  const reservedAt = reservedOffsets(layoutName);
  return payload.map((b, i) => (reservedAt.includes(i) ? 0 : b));
}

function commandLayoutName(c: Command): string {
  if (c.function === FunctionCode.RELAY) return 'RELAY';
  if (c.function === FunctionCode.TIME) return 'TIME';
  return controlOpcodeName(c.opcode);
}

function valueOf<T>(result: DecodeResult<T>): T {
  if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
  return result.value;
}

describe('command payloads', () => {
  it('have the spec lengths', () => {
    expect(encodeCommand({ function: FunctionCode.RELAY, state: 1 })).toEqual(new Uint8Array([1]));
    expect(toHex(encodeCommand({ function: FunctionCode.TIME, unixMs: 0x0102030405 }))).toBe('050403020100');
    expect(toHex(encodeCommand({ function: FunctionCode.TIME, unixMs: 2 ** 48 - 1 }))).toBe('ffffffffffff');
    expect(
      [1, 2, 3, 4, 5, 6].map((op) => controlLength(op as ControlOpcode)),
    ).toEqual([11, 2, 1, 34, 6, 4]);
  });

  it('encode CONTROL arguments little-endian after the opcode', () => {
    const payload = encodeCommand({ function: control, opcode: ControlOpcode.SET_THRESHOLDS, dip: 9000, swell: 11000, hysteresis: 200, udin: 23000 });
    expect(toHex(payload)).toBe('01' + '2823' + 'f82a' + 'c800' + 'd8590000');
    const confirm = encodeCommand({
      function: control,
      opcode: ControlOpcode.CLEAR_ENERGY_CONFIRM,
      challenge: 0x8badf00d,
      uid: fromHex('000102030405060708090a0b'),
      importMwh: 2 ** 48 - 1,
      exportMwh: 0x0123456789ab,
    });
    expect(toHex(confirm)).toBe('04' + '0df0ad8b' + '0000' + '000102030405060708090a0b' + '0000' + 'ffffffffffff' + '00' + 'ab8967452301');
  });

  it('decode(encode(x)) = x for every valid command', () => {
    fc.assert(
      fc.property(command, (c) => {
        expect(valueOf(decodeCommand(c.function, encodeCommand(c)))).toEqual(c);
      }),
    );
  });

  it('reject wrong lengths and unknown opcodes as malformed, impossible arguments as bad-value', () => {
    expect(decodeRelay(new Uint8Array([1, 0]))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(decodeRelay(new Uint8Array([2]))).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(decodeTime(new Uint8Array(7))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(decodeTime(new Uint8Array(8))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(decodeTime(new Uint8Array(6).fill(0xff))).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(decodeTime(encodeCommand({ function: FunctionCode.TIME, unixMs: MAX_UNIX_MS }))).toMatchObject({ ok: true });
    expect(decodeTime(encodeCommand({ function: FunctionCode.TIME, unixMs: MAX_UNIX_MS + 1 }))).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(decodeControl(new Uint8Array(0))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(decodeControl(new Uint8Array([0x07]))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(decodeControl(new Uint8Array([0x00]))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(decodeControl(new Uint8Array([0x02]))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(decodeControl(new Uint8Array([0x03, 0]))).toMatchObject({ ok: false, reason: 'malformed' });
    const thresholds = (dip: number, swell: number, hysteresis: number, udin = 23000) =>
      decodeControl(encodeCommand({ function: control, opcode: ControlOpcode.SET_THRESHOLDS, dip, swell, hysteresis, udin }));
    expect(thresholds(9000, 11000, 999)).toMatchObject({ ok: true });
    expect(thresholds(11000, 11000, 200)).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(thresholds(9000, 11000, 1000)).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(thresholds(9000, 11000, 200, 0)).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(decodeControl(encodeCommand({ function: control, opcode: ControlOpcode.READ_EVENTS, fromSeq: 0, maxCount: 17 }))).toMatchObject({
      ok: false,
      reason: 'bad-value',
    });
  });

  it('refuse to encode what does not fit the wire type', () => {
    expect(() => encodeCommand({ function: FunctionCode.TIME, unixMs: -1 })).toThrow(RangeError);
    expect(() => encodeCommand({ function: FunctionCode.TIME, unixMs: 1.5 })).toThrow(RangeError);
    expect(() => encodeCommand({ function: control, opcode: ControlOpcode.IDENTIFY, seconds: 256 })).toThrow(RangeError);
    expect(() =>
      encodeCommand({ function: control, opcode: ControlOpcode.CLEAR_ENERGY_CONFIRM, challenge: 1, uid: new Uint8Array(11), importMwh: 0, exportMwh: 0 }),
    ).toThrow(RangeError);
    expect(() =>
      encodeCommand({ function: control, opcode: ControlOpcode.CLEAR_ENERGY_CONFIRM, challenge: 1, uid: new Uint8Array(12), importMwh: 2 ** 48, exportMwh: 0 }),
    ).toThrow(RangeError);
  });

  it('never throw on arbitrary payloads; the length check alone predicts malformed', () => {
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.tuple(fc.integer({ min: 0, max: 8 }), fc.uint8Array({ minLength: 33, maxLength: 33 })).map(([op, rest]) => Uint8Array.from([op, ...rest.subarray(0, [0, 10, 1, 0, 33, 5, 3, 0, 0][op])])),
    );
    fc.assert(
      fc.property(fc.constantFrom(FunctionCode.RELAY, FunctionCode.TIME, FunctionCode.CONTROL), payloads, (fn, payload) => {
        const result = decodeCommand(fn, payload);
        if (!result.ok) expect(result.reason === 'malformed').toBe(payloadLengthProblem(fn, payload) !== undefined);
        // Re-encoding gives the payload back with its reserved bytes (ignored on receive) as 0.
        else expect(encodeCommand(result.value)).toEqual(withoutReserved(commandLayoutName(result.value), payload));
      }),
    );
  });

  it('judge payload lengths without a key', () => {
    expect(payloadLengthProblem(FunctionCode.RELAY, new Uint8Array(1))).toBeUndefined();
    expect(payloadLengthProblem(FunctionCode.RELAY, new Uint8Array(2))).toMatch(/RELAY takes 1 bytes/);
    expect(payloadLengthProblem(FunctionCode.CONTROL, new Uint8Array([0x04, ...new Uint8Array(33)]))).toBeUndefined();
    expect(payloadLengthProblem(FunctionCode.CONTROL, new Uint8Array([0x04, ...new Uint8Array(28)]))).toMatch(/CLEAR_ENERGY_CONFIRM takes 34/);
    expect(payloadLengthProblem(FunctionCode.TIME, new Uint8Array(6))).toBeUndefined();
    expect(payloadLengthProblem(FunctionCode.TIME, new Uint8Array(8))).toMatch(/TIME takes 6/);
    expect(payloadLengthProblem(FunctionCode.CONTROL, new Uint8Array([0x09]))).toMatch(/unknown opcode/);
    expect(payloadLengthProblem(FunctionCode.STATUS, new Uint8Array(35))).toBeUndefined();
    expect(payloadLengthProblem(FunctionCode.STATUS, new Uint8Array(34))).toMatch(/STATUS takes 35/);
    expect(payloadLengthProblem(9, new Uint8Array(1))).toMatch(/reserved/);
  });
});

describe('record payloads', () => {
  it('have the spec lengths', () => {
    expect([ACK_LENGTH, SNAPSHOT_LENGTH, ENERGY_LENGTH, STATUS_LENGTH, AGGREGATE_LENGTH, EVENT_LENGTH]).toEqual([11, 28, 23, 35, 42, 16]);
    expect(STATUS_UID_OFFSET).toBe(7);
  });

  it('lay SNAPSHOT out in the table order, little-endian, signed where the spec says i, reserved bytes 0', () => {
    const payload = encodeSnapshot({ timeS: 0x11223344, timeCs: 5, flags: 3, vrms: 23000, irms: 1000, p: -2, n: 8, pf: -1, f: 50000, thdV: 0xffff, thdI: 1 });
    expect(toHex(payload)).toBe(
      '44332211' + '05' + 'd859' + /* frame 1 */ 'feffffff' + 'e803' + '03' + /* frame 2 */ '08000000' + 'ffff' + '00' + /* frame 3 */ '50c3' + 'ffff' + '0100' + '00',
    );
  });

  it('lay the other records out in the table order', () => {
    expect(toHex(encodeAck({ commandFv: 0x01020304, function: 2, opcode: 4, result: 3, value: 0x0a0b0c0d }))).toBe('04030201' + '02' + '04' + '03' + '0d0c0b0a');
    expect(toHex(encodeEnergy({ importMwh: 0x010203040506, flags: 2, exportMwh: 0x0a0b0c0d0e0f, timeS: 0x11223344, epoch: 0x5566, boots: 0x7788 }))).toBe(
      '060504030201' + '02' + '0f0e0d0c0b0a' + '00' + '44332211' + '6655' + '00' + '8877',
    );
    expect(
      toHex(
        encodeStatus({
          protocol: 1,
          firmware: 0x0203,
          build: 0x0405,
          flags: 0x06,
          tec: 0x07,
          uid: fromHex('a0a1a2a3a4a5a6a7a8a9aaab'),
          boots: 0x0809,
          uptimeS: 0x10111213,
          rejectedMac: 0x1415,
          rec: 0x16,
          rejectedStale: 0x1718,
          rejectedMalformed: 0x1920,
          rateLimited: 0x2122,
        }),
      ),
    ).toBe('01' + '0302' + '0504' + '06' + '07' + 'a0a1a2a3a4a5a6' + 'a7a8a9aaab' + '0908' + '13121110' + '1514' + '16' + '1817' + '2019' + '2221' + '00');
    expect(
      toHex(
        encodeAggregate({
          startS: 0x11223344,
          flags: 1,
          fMean: 0x0203,
          pMean: -2,
          vrmsMean: 0x0405,
          pMin: 0x06070809,
          vrmsMin: 0x0a0b,
          pMax: 0x0c0d0e0f,
          vrmsMax: 0x1011,
          importMwh: 0x12131415,
          thdV: 0x1617,
          exportMwh: 0x18192021,
          thdI: 0x2223,
        }),
      ),
    ).toBe(
      '44332211' + '01' + '0302' + 'feffffff' + '0504' + '00' + '09080706' + '0b0a' + '00' + '0f0e0d0c' + '1110' + '00' + '15141312' + '1716' + '00' + '21201918' + '2322' + '00',
    );
    expect(toHex(encodeEvent({ startS: 0x11223344, seq: 0x0102, kind: 3, durationMs: 0x05060708, startMs: 0x0309, extreme: 0x0a0b }))).toBe(
      '44332211' + '0201' + '03' + '08070605' + '0903' + '00' + '0b0a',
    );
  });

  it('ignore reserved bytes on receive', () => {
    const reservedAt = (name: string) => reservedOffsets(name);
    expect(reservedAt('SNAPSHOT')).toEqual([20, 27]);
    const snapshot = encodeSnapshot({ timeS: 1, timeCs: 2, flags: 3, vrms: 4, irms: 5, p: 6, n: 7, pf: 8, f: 9, thdV: 10, thdI: 11 });
    const dirty = snapshot.map((b, i) => (reservedAt('SNAPSHOT').includes(i) ? 0xa5 : b));
    expect(valueOf(decodeSnapshot(dirty))).toEqual(valueOf(decodeSnapshot(snapshot)));
    const confirm = encodeCommand({ function: control, opcode: ControlOpcode.CLEAR_ENERGY_CONFIRM, challenge: 1, uid: new Uint8Array(12).fill(2), importMwh: 3, exportMwh: 4 });
    expect(reservedAt('CLEAR_ENERGY_CONFIRM')).toEqual([5, 6, 19, 20, 27]);
    const dirtyConfirm = confirm.map((b, i) => (reservedAt('CLEAR_ENERGY_CONFIRM').includes(i) ? 0xff : b));
    expect(decodeControl(dirtyConfirm)).toEqual(decodeControl(confirm));
  });

  it('give physical units next to the raw integers', () => {
    const snapshot = valueOf(
      decodeSnapshot(
        encodeSnapshot({ timeS: 1000, timeCs: 25, flags: 0b1011, vrms: 23012, irms: 4321, p: -951_234, n: 289_120, pf: -9566, f: 49_987, thdV: 312, thdI: 0xffff }),
      ),
    );
    expect(snapshot).toMatchObject({
      seconds: 1000.25,
      relayOn: true,
      timeValid: true,
      windowFlagged: false,
      noVoltage: true,
      volts: 230.12,
      amps: 4.321,
      watts: -951.234,
      // Not on the wire: 230.12 V × 4.321 A.
      voltAmperes: 994.34852,
      vars: 289.12,
      powerFactor: -0.9566,
      hertz: 49.987,
      thdVoltagePercent: 3.12,
      thdCurrentPercent: undefined,
      p: -951_234,
    });
    const energy = valueOf(decodeEnergy(encodeEnergy({ timeS: 1, flags: 2, importMwh: 2 ** 48 - 1, exportMwh: 1_500_000, epoch: 1, boots: 2 })));
    expect(energy).toMatchObject({ timeValid: true, importMwh: 2 ** 48 - 1, exportKwh: 1.5 });
    const status = valueOf(
      decodeStatus(
        encodeStatus({
          protocol: 1,
          firmware: 0x0203,
          build: 7,
          uid: fromHex('3a0021000b51343334363530'),
          flags: 0b1100,
          uptimeS: 5,
          boots: 1,
          rejectedMac: 0,
          rejectedStale: 0,
          rejectedMalformed: 0,
          rateLimited: 0,
          tec: 0,
          rec: 0,
        }),
      ),
    );
    expect(snapshot).not.toHaveProperty('s');
    expect(status).toMatchObject({ uidHex: '3a0021000b51343334363530', firmwareMajor: 2, firmwareMinor: 3, relayOn: false, identifying: true, lockout: true });
    const event = valueOf(decodeEvent(encodeEvent({ seq: 1, kind: 3, startS: 100, startMs: 250, durationMs: 10, extreme: 1234 })));
    expect(event).toMatchObject({ kindName: 'interruption', seconds: 100.25, extremeVolts: 12.34 });
    const aggregate = valueOf(
      decodeAggregate(
        encodeAggregate({ startS: 600, flags: 1, vrmsMean: 23000, vrmsMin: 22000, vrmsMax: 24000, pMean: -5, pMin: -10, pMax: 0, fMean: 50000, thdV: 0xffff, thdI: 10, importMwh: 1, exportMwh: 2 }),
      ),
    );
    expect(aggregate).toMatchObject({ flagged: true, voltsMin: 220, wattsMean: -0.005, hertzMean: 50, thdVoltagePercent: undefined, thdCurrentPercent: 0.1 });
    const ack = valueOf(decodeAck(encodeAck({ function: 2, opcode: 3, commandFv: 9, result: 5, value: 0 })));
    expect(ack.resultName).toBe('auth-failed');
  });

  const cases: [string, RecordFunction, fc.Arbitrary<object>, (x: never) => Uint8Array][] = [
    ['ACK', FunctionCode.ACK, ackFields, encodeAck],
    ['SNAPSHOT', FunctionCode.SNAPSHOT, snapshotFields, encodeSnapshot],
    ['ENERGY', FunctionCode.ENERGY, energyFields, encodeEnergy],
    ['STATUS', FunctionCode.STATUS, statusFields, encodeStatus],
    ['AGGREGATE', FunctionCode.AGGREGATE, aggregateFields, encodeAggregate],
    ['EVENT', FunctionCode.EVENT, eventFields, encodeEvent],
  ];
  for (const [name, fn, fields, encode] of cases) {
    it(`${name}: decode(encode(x)) = x, with every wire field present`, () => {
      fc.assert(
        fc.property(fields, (x) => {
          const payload = (encode as (value: object) => Uint8Array)(x);
          expect(payload).toHaveLength(RECORD_LENGTHS[fn]);
          const decoded = decodeRecord(fn, payload);
          expect(decoded.ok).toBe(true);
          if (!decoded.ok) return;
          const record = Object.values(decoded.value).find((v) => typeof v === 'object') as Record<string, unknown>;
          expect(record).toMatchObject(x);
          expect(Object.keys(x).sort()).toEqual([...payloadFieldNames(fn)].sort());
        }),
      );
    });

    it(`${name}: ignores its reserved bytes, and re-encodes them as 0`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: RECORD_LENGTHS[fn], maxLength: RECORD_LENGTHS[fn] }), (payload) => {
          const clean = withoutReserved(name, payload);
          const result = decodeRecord(fn, payload);
          expect(result).toEqual(decodeRecord(fn, clean));
          if (!result.ok) return;
          const record = Object.values(result.value).find((v) => typeof v === 'object') as object;
          expect((encode as (value: object) => Uint8Array)(record)).toEqual(clean);
        }),
      );
    });

    it(`${name}: never throws on arbitrary payloads, and a failure has a reason`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.uint8Array({ minLength: RECORD_LENGTHS[fn], maxLength: RECORD_LENGTHS[fn] })), (payload) => {
          const result = decodeRecord(fn, payload);
          if (result.ok) expect(payload).toHaveLength(RECORD_LENGTHS[fn]);
          else {
            expect(result.reason).toBe(payload.length === RECORD_LENGTHS[fn] ? 'bad-value' : 'malformed');
            expect(result.detail).not.toBe('');
          }
        }),
      );
    });
  }

  it('reject values the spec does not define', () => {
    const ack = (f: Partial<AckFields>) => decodeAck(encodeAck({ function: 0, opcode: 0, commandFv: 1, result: 0, value: 0, ...f }));
    expect(ack({ function: 3 })).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(ack({ result: 7 })).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(ack({ opcode: 1 })).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(ack({ function: 2, opcode: 0x7f })).toMatchObject({ ok: true });
    const snap = encodeSnapshot({ timeS: 0, timeCs: 0, flags: 0, vrms: 0, irms: 0, p: 0, n: 0, pf: 0, f: 0, thdV: 0, thdI: 0 });
    expect(decodeSnapshot(snap.map((b, i) => (i === 4 ? 100 : b)))).toMatchObject({ ok: false, reason: 'bad-value' });
    // pf (offset 18) = 10001.
    expect(decodeSnapshot(snap.map((b, i) => (i === 18 ? 0x11 : i === 19 ? 0x27 : b)))).toMatchObject({ ok: false, reason: 'bad-value' });
    const status = (protocol: number) =>
      decodeStatus(
        encodeStatus({ protocol, firmware: 0, build: 0, uid: new Uint8Array(12), flags: 0, uptimeS: 0, boots: 0, rejectedMac: 0, rejectedStale: 0, rejectedMalformed: 0, rateLimited: 0, tec: 0, rec: 0 }),
      );
    expect(status(2)).toMatchObject({ ok: false, reason: 'bad-value' });
    const aggregate = encodeAggregate({ startS: 601, flags: 0, vrmsMean: 0, vrmsMin: 0, vrmsMax: 0, pMean: 0, pMin: 0, pMax: 0, fMean: 0, thdV: 0, thdI: 0, importMwh: 0, exportMwh: 0 });
    expect(decodeAggregate(aggregate)).toMatchObject({ ok: false, reason: 'bad-value' });
    const event = (kind: number, startMs: number) => decodeEvent(encodeEvent({ seq: 0, kind, startS: 0, startMs, durationMs: 0, extreme: 0 }));
    expect(event(0, 0)).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(event(4, 0)).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(event(1, 1000)).toMatchObject({ ok: false, reason: 'bad-value' });
    expect(decodeEnergy(new Uint8Array(20))).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
