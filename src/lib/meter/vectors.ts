/**
 * The protocol test vectors (test-vectors/protocol.json): fixed keys, messages of every kind and
 * rejections, checked by both the app's and the firmware's test suites. Deterministic: the same
 * code always writes the same file, and a test fails if the committed file drifts from it.
 */
import { buildConfigPage } from './config-page';
import { canId, type CommandFunction, FunctionCode, isCommandFunction, isFunctionCode, type RecordFunction, splitId } from './ids';
import { DEMO_SITE_KEY, deriveGroupKey, deriveMeterKey, fromHex, toHex } from './keys';
import {
  type AckFields,
  type AggregateFields,
  type Command,
  ControlOpcode,
  decodeCommand,
  decodeRecord,
  encodeAck,
  encodeAggregate,
  encodeCommand,
  encodeEnergy,
  encodeEvent,
  encodeSnapshot,
  encodeStatus,
  type EnergyFields,
  type EventFields,
  type MeterRecord,
  payloadFieldNames,
  payloadLengthProblem,
  type SnapshotFields,
  type StatusFields,
  THD_NOT_MEASURED,
} from './records';
import { computeMac, FV_LENGTH, MAC_LENGTH, MAX_FV, open, seal, SECURITY_OVERHEAD } from './secure';
import { Reassembler, segment } from './segmentation';

export const VECTORS_PROTOCOL = 1;

export interface KeyVector {
  readonly name: string;
  readonly site_key: string;
  readonly uid: string;
  readonly node: number;
  readonly meter_key: string;
  readonly group_key: string;
  readonly config_page: string;
}

export type DecodedFields = Readonly<Record<string, number | string>>;

export interface MessageVector {
  readonly name: string;
  readonly function: number;
  readonly node: number;
  readonly id: number;
  readonly key: string;
  readonly fv: number;
  readonly payload: string;
  readonly mac: string;
  readonly frames: readonly string[];
  readonly decoded: DecodedFields;
}

export type RejectionReasonName = 'bad-mac' | 'stale' | 'malformed';

export interface RejectionVector {
  readonly name: string;
  readonly id: number;
  readonly key: string;
  readonly last_fv: number;
  readonly frames: readonly string[];
  readonly reason: RejectionReasonName;
}

export interface ProtocolVectors {
  readonly protocol: number;
  readonly keys: readonly KeyVector[];
  readonly messages: readonly MessageVector[];
  readonly rejections: readonly RejectionVector[];
}

interface Site {
  readonly name: string;
  readonly siteKey: Uint8Array;
  readonly uid: Uint8Array;
  readonly node: number;
}

const DEMO: Site = { name: 'demo site, node 1', siteKey: DEMO_SITE_KEY, uid: fromHex('3a0021000b51343334363530'), node: 1 };
const SITE_B: Site = {
  name: 'counting site key, node 127',
  siteKey: fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'),
  uid: fromHex('ffeeddccbbaa998877665544'),
  node: 127,
};
const SITE_C: Site = {
  name: 'all-ones site key, zero uid, node 42',
  siteKey: fromHex('ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'),
  uid: new Uint8Array(12),
  node: 42,
};
const SITES: readonly Site[] = [DEMO, SITE_B, SITE_C];

const meterKey = (site: Site): Uint8Array => deriveMeterKey(site.siteKey, site.uid);

/** 2026-01-01T00:00:00Z, on a 10-minute boundary. */
const NEW_YEAR_S = 1_767_225_600;
const MAX_U48 = 2 ** 48 - 1;

export function buildProtocolVectors(): ProtocolVectors {
  return { protocol: VECTORS_PROTOCOL, keys: SITES.map(keyVector), messages: messageVectors(), rejections: rejectionVectors() };
}

function keyVector(site: Site): KeyVector {
  return {
    name: site.name,
    site_key: toHex(site.siteKey),
    uid: toHex(site.uid),
    node: site.node,
    meter_key: toHex(meterKey(site)),
    group_key: toHex(deriveGroupKey(site.siteKey)),
    config_page: toHex(buildConfigPage(site.siteKey, site.uid, site.node)),
  };
}

// ---------------------------------------------------------------------------------------------
// Messages

function messageVectors(): MessageVector[] {
  const demoKey = meterKey(DEMO);
  const bKey = meterKey(SITE_B);
  const cKey = meterKey(SITE_C);
  const groupKey = deriveGroupKey(DEMO.siteKey);
  const control = FunctionCode.CONTROL;

  const commands: [string, Site, Uint8Array, number, Command][] = [
    ['RELAY on, the first FV', DEMO, demoKey, 1, { function: FunctionCode.RELAY, state: 1 }],
    ['RELAY off, node 127, the last FV', SITE_B, bKey, MAX_FV, { function: FunctionCode.RELAY, state: 0 }],
    ['TIME unicast', DEMO, demoKey, 2, { function: FunctionCode.TIME, unixMs: NEW_YEAR_S * 1000 + 123 }],
    ['CONTROL SET_THRESHOLDS', DEMO, demoKey, 4, { function: control, opcode: ControlOpcode.SET_THRESHOLDS, dip: 9000, swell: 11000, hysteresis: 200, udin: 23000 }],
    ['CONTROL IDENTIFY', SITE_C, cKey, 5, { function: control, opcode: ControlOpcode.IDENTIFY, seconds: 10 }],
    ['CONTROL CLEAR_ENERGY_ARM', DEMO, demoKey, 6, { function: control, opcode: ControlOpcode.CLEAR_ENERGY_ARM }],
    [
      'CONTROL CLEAR_ENERGY_CONFIRM, max u48 import',
      DEMO,
      demoKey,
      7,
      { function: control, opcode: ControlOpcode.CLEAR_ENERGY_CONFIRM, challenge: 0x8badf00d, uid: DEMO.uid, importMwh: MAX_U48, exportMwh: 0x0123456789ab },
    ],
    ['CONTROL READ_AGGREGATES', SITE_B, bKey, 0x00010000, { function: control, opcode: ControlOpcode.READ_AGGREGATES, fromS: NEW_YEAR_S - 86_400, maxCount: 16 }],
    ['CONTROL READ_EVENTS', SITE_C, cKey, 0x7fffffff, { function: control, opcode: ControlOpcode.READ_EVENTS, fromSeq: 0xfffe, maxCount: 1 }],
  ];
  const messages = commands.map(([name, site, key, fv, command]) => commandVector(name, site.node, key, fv, command));
  messages.splice(3, 0, commandVector('TIME broadcast, group key', 0, groupKey, 3, { function: FunctionCode.TIME, unixMs: NEW_YEAR_S * 1000 }));

  const ack = (fields: AckFields) => encodeAck(fields);
  const snapshot = (fields: SnapshotFields) => encodeSnapshot(fields);
  const energy = (fields: EnergyFields) => encodeEnergy(fields);
  const status = (fields: StatusFields) => encodeStatus(fields);
  const aggregate = (fields: AggregateFields) => encodeAggregate(fields);
  const event = (fields: EventFields) => encodeEvent(fields);
  const records: [string, RecordFunction, Site, number, Uint8Array][] = [
    ['ACK of RELAY on', FunctionCode.ACK, DEMO, 1, ack({ function: FunctionCode.RELAY, opcode: 0, commandFv: 1, result: 0, value: 1 })],
    ['ACK of CLEAR_ENERGY_ARM with its challenge', FunctionCode.ACK, DEMO, 2, ack({ function: control, opcode: ControlOpcode.CLEAR_ENERGY_ARM, commandFv: 6, result: 0, value: 0x8badf00d })],
    ['ACK of CLEAR_ENERGY_CONFIRM, mismatch', FunctionCode.ACK, DEMO, 3, ack({ function: control, opcode: ControlOpcode.CLEAR_ENERGY_CONFIRM, commandFv: 7, result: 3, value: 0 })],
    ['ACK of READ_AGGREGATES, count sent', FunctionCode.ACK, SITE_B, 0x10, ack({ function: control, opcode: ControlOpcode.READ_AGGREGATES, commandFv: 0x00010000, result: 0, value: 16 })],
    ['ACK authentication failed, node 127, the last FV', FunctionCode.ACK, SITE_B, MAX_FV, ack({ function: FunctionCode.RELAY, opcode: 0, commandFv: 0xdeadbeef, result: 5, value: 0 })],
    [
      'SNAPSHOT importing',
      FunctionCode.SNAPSHOT,
      DEMO,
      4,
      snapshot({ timeS: NEW_YEAR_S + 42, timeCs: 37, flags: 0b0011, vrms: 23012, irms: 4321, p: 951_234, n: 289_120, pf: 9566, f: 49_987, thdV: 312, thdI: 4120 }),
    ],
    [
      'SNAPSHOT exporting: negative power and power factor, flagged window',
      FunctionCode.SNAPSHOT,
      SITE_B,
      0x100,
      snapshot({ timeS: NEW_YEAR_S + 3600, timeCs: 0, flags: 0b0111, vrms: 24120, irms: 10_350, p: -2_480_004, n: 285_590, pf: -9934, f: 50_012, thdV: 187, thdI: 905 }),
    ],
    [
      'SNAPSHOT no voltage, THD not measured, time not valid',
      FunctionCode.SNAPSHOT,
      SITE_C,
      1,
      snapshot({ timeS: 12, timeCs: 99, flags: 0b1000, vrms: 0, irms: 0, p: 0, n: 0, pf: 0, f: 0, thdV: THD_NOT_MEASURED, thdI: THD_NOT_MEASURED }),
    ],
    [
      'SNAPSHOT extremes of every field',
      FunctionCode.SNAPSHOT,
      DEMO,
      0xfffffffe,
      snapshot({ timeS: 0xffffffff, timeCs: 99, flags: 0b1111, vrms: 0xffff, irms: 0xffff, p: -0x80000000, n: 0xffffffff, pf: -10000, f: 0xffff, thdV: 0xfffe, thdI: 0 }),
    ],
    ['ENERGY max u48 import', FunctionCode.ENERGY, DEMO, 5, energy({ timeS: NEW_YEAR_S + 60, flags: 0b0010, importMwh: MAX_U48, exportMwh: 0x0000_1234_5678_9abc, epoch: 3, boots: 17 })],
    ['ENERGY after a clear, time not valid', FunctionCode.ENERGY, SITE_C, 2, energy({ timeS: 3, flags: 0, importMwh: 0, exportMwh: 0, epoch: 0xffff, boots: 1 })],
    [
      'STATUS',
      FunctionCode.STATUS,
      DEMO,
      6,
      status({ protocol: 1, firmware: 0x0102, build: 345, uid: DEMO.uid, flags: 0b0011, uptimeS: 86_400, boots: 17, rejectedMac: 1, rejectedStale: 2, rejectedMalformed: 3, rateLimited: 4, tec: 0, rec: 0 }),
    ],
    [
      'STATUS node 127, identifying, lockout, counters at their limits',
      FunctionCode.STATUS,
      SITE_B,
      0x12345678,
      status({ protocol: 1, firmware: 0xffff, build: 0xffff, uid: SITE_B.uid, flags: 0b1100, uptimeS: 0xffffffff, boots: 0xffff, rejectedMac: 0xffff, rejectedStale: 0xfffe, rejectedMalformed: 0x8000, rateLimited: 0x7fff, tec: 255, rec: 128 }),
    ],
    [
      'AGGREGATE flagged',
      FunctionCode.AGGREGATE,
      DEMO,
      7,
      aggregate({ startS: NEW_YEAR_S, flags: 1, vrmsMean: 22987, vrmsMin: 20110, vrmsMax: 23411, pMean: 640_500, pMin: -1_200_000, pMax: 3_450_000, fMean: 49_998, thdV: 301, thdI: 3890, importMwh: 124_806, exportMwh: 18_090 }),
    ],
    [
      'AGGREGATE exporting, THD not measured',
      FunctionCode.AGGREGATE,
      SITE_C,
      3,
      aggregate({ startS: NEW_YEAR_S + 600, flags: 0, vrmsMean: 24001, vrmsMin: 23890, vrmsMax: 24150, pMean: -2_000_000, pMin: -0x80000000, pMax: -1, fMean: 50_020, thdV: THD_NOT_MEASURED, thdI: THD_NOT_MEASURED, importMwh: 0, exportMwh: 0xffffffff }),
    ],
    ['EVENT dip', FunctionCode.EVENT, DEMO, 8, event({ seq: 0, kind: 1, startS: NEW_YEAR_S + 125, startMs: 480, durationMs: 140, extreme: 16_020 })],
    ['EVENT swell', FunctionCode.EVENT, DEMO, 9, event({ seq: 1, kind: 2, startS: NEW_YEAR_S + 900, startMs: 999, durationMs: 61_000, extreme: 26_533 })],
    ['EVENT interruption, last seq', FunctionCode.EVENT, SITE_B, 0x101, event({ seq: 0xffff, kind: 3, startS: 0xffffffff, startMs: 0, durationMs: 0xffffffff, extreme: 0 })],
  ];
  for (const [name, fn, site, fv, payload] of records) messages.push(recordVector(name, fn, site.node, meterKey(site), fv, payload));
  return messages;
}

function commandVector(name: string, node: number, key: Uint8Array, fv: number, command: Command): MessageVector {
  const payload = encodeCommand(command);
  const decoded = decodeCommand(command.function, payload);
  if (!decoded.ok) throw new Error(`vector ${name}: ${decoded.detail}`);
  return messageVector(name, command.function, node, key, fv, payload, wireFields(command.function, decoded.value));
}

function recordVector(name: string, fn: RecordFunction, node: number, key: Uint8Array, fv: number, payload: Uint8Array): MessageVector {
  const decoded = decodeRecord(fn, payload);
  if (!decoded.ok) throw new Error(`vector ${name}: ${decoded.detail}`);
  return messageVector(name, fn, node, key, fv, payload, wireFields(fn, recordValue(decoded.value)));
}

function messageVector(name: string, fn: number, node: number, key: Uint8Array, fv: number, payload: Uint8Array, decoded: DecodedFields): MessageVector {
  const id = canId(fn, node);
  const body = seal(key, id, payload, fv);
  return {
    name,
    function: fn,
    node,
    id,
    key: toHex(key),
    fv,
    payload: toHex(payload),
    mac: toHex(body.subarray(body.length - MAC_LENGTH)),
    frames: segment(id, body).map((frame) => toHex(frame.data)),
    decoded,
  };
}

function recordValue(record: MeterRecord): object {
  switch (record.function) {
    case FunctionCode.ACK:
      return record.ack;
    case FunctionCode.SNAPSHOT:
      return record.snapshot;
    case FunctionCode.ENERGY:
      return record.energy;
    case FunctionCode.STATUS:
      return record.status;
    case FunctionCode.AGGREGATE:
      return record.aggregate;
    case FunctionCode.EVENT:
      return record.event;
  }
}

/** The transmitted fields of a decoded payload under the spec's snake_case names; bytes as hex. */
export function wireFields(fn: CommandFunction | RecordFunction, value: object): DecodedFields {
  const source = value as Readonly<Record<string, unknown>>;
  const opcode = fn === FunctionCode.CONTROL ? (source.opcode as ControlOpcode) : undefined;
  const fields: Record<string, number | string> = {};
  for (const name of payloadFieldNames(fn, opcode)) {
    const field = source[name];
    if (typeof field === 'number') fields[snakeCase(name)] = field;
    else if (field instanceof Uint8Array) fields[snakeCase(name)] = toHex(field);
    else throw new Error(`field ${name} is missing`);
  }
  return fields;
}

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

// ---------------------------------------------------------------------------------------------
// Rejections

function rejectionVectors(): RejectionVector[] {
  const demoKey = meterKey(DEMO);
  const bKey = meterKey(SITE_B);
  const groupKey = deriveGroupKey(DEMO.siteKey);
  const relayId = canId(FunctionCode.RELAY, DEMO.node);
  const timeId = canId(FunctionCode.TIME, DEMO.node);
  const controlId = canId(FunctionCode.CONTROL, DEMO.node);
  const snapshotId = canId(FunctionCode.SNAPSHOT, DEMO.node);
  const relayOn = encodeCommand({ function: FunctionCode.RELAY, state: 1 });
  const snapshotPayload = encodeSnapshot({ timeS: NEW_YEAR_S, timeCs: 50, flags: 0b0011, vrms: 23000, irms: 1000, p: 230_000, n: 0, pf: 10000, f: 50_000, thdV: 250, thdI: 500 });
  const relayBody = seal(demoKey, relayId, relayOn, 0x1000);
  const snapshotBody = seal(demoKey, snapshotId, snapshotPayload, 0x2000);
  const snapshotFrames = segment(snapshotId, snapshotBody).map((frame) => frame.data);

  const flipped = (body: Uint8Array, byte: number, bit: number): Uint8Array => {
    const copy = body.slice();
    copy[byte] = (copy[byte] ?? 0) ^ (1 << bit);
    return copy;
  };
  const fvAt = (body: Uint8Array) => body.length - MAC_LENGTH - FV_LENGTH;
  const frameHex = (frames: readonly Uint8Array[]) => frames.map(toHex);
  const bodyRejection = (name: string, id: number, key: Uint8Array, lastFv: number, body: Uint8Array, reason: RejectionReasonName): RejectionVector => ({
    name,
    id,
    key: toHex(key),
    last_fv: lastFv,
    frames: segment(id, body).map((frame) => toHex(frame.data)),
    reason,
  });
  const header = (frame: Uint8Array, index: number, last: number): Uint8Array => {
    const copy = frame.slice();
    copy[0] = (index << 4) | last;
    return copy;
  };
  const pick = (indices: readonly number[]) => indices.map((i) => snapshotFrames[i] ?? new Uint8Array(0));

  // FV 0 is below every value a sender uses; seal() refuses it, so build the body by hand.
  const zeroFvBody = new Uint8Array([...relayOn, 0, 0, 0, 0, ...computeMac(demoKey, relayId, relayOn, 0)]);
  const identify = encodeCommand({ function: FunctionCode.CONTROL, opcode: ControlOpcode.IDENTIFY, seconds: 5 });
  const arm = encodeCommand({ function: FunctionCode.CONTROL, opcode: ControlOpcode.CLEAR_ENERGY_ARM });

  return [
    bodyRejection('bad MAC: one bit flipped in the payload', relayId, demoKey, 0x0fff, flipped(relayBody, 0, 0), 'bad-mac'),
    bodyRejection('bad MAC: one bit flipped in the MAC', snapshotId, demoKey, 0, flipped(snapshotBody, snapshotBody.length - 1, 7), 'bad-mac'),
    bodyRejection('bad MAC: one bit flipped in the FV, to a fresh value', relayId, demoKey, 0x0fff, flipped(relayBody, fvAt(relayBody) + 1, 0), 'bad-mac'),
    bodyRejection(
      'bad MAC before stale: one bit flipped in the FV, to a value below last_fv (the MAC is checked first)',
      relayId,
      demoKey,
      0x0fff,
      flipped(relayBody, fvAt(relayBody) + 1, 4),
      'bad-mac',
    ),
    bodyRejection("bad MAC: another meter's key", relayId, bKey, 0, relayBody, 'bad-mac'),
    bodyRejection('bad MAC: moved to another node, same key', canId(FunctionCode.SNAPSHOT, 2), demoKey, 0, snapshotBody, 'bad-mac'),
    bodyRejection(
      'bad MAC: CLEAR_ENERGY_ARM moved to RELAY, where its 1-byte payload fits (the MAC is checked before the value 3)',
      relayId,
      demoKey,
      0,
      seal(demoKey, controlId, arm, 0x1001),
      'bad-mac',
    ),
    bodyRejection('bad MAC: unicast TIME moved to the broadcast id, group key', canId(FunctionCode.TIME, 0), groupKey, 0, seal(demoKey, timeId, encodeCommand({ function: FunctionCode.TIME, unixMs: NEW_YEAR_S * 1000 }), 0x1002), 'bad-mac'),
    bodyRejection('stale: FV equal to the last accepted', relayId, demoKey, 0x1000, relayBody, 'stale'),
    bodyRejection('stale: FV below the last accepted', relayId, demoKey, 0x1001, relayBody, 'stale'),
    bodyRejection('stale: FV 0xFFFFFFFF again', snapshotId, demoKey, MAX_FV, seal(demoKey, snapshotId, snapshotPayload, MAX_FV), 'stale'),
    bodyRejection('stale: FV 0 with nothing accepted yet', relayId, demoKey, 0, zeroFvBody, 'stale'),
    { name: 'malformed: wrong frame index (frame 2 before frame 1)', id: snapshotId, key: toHex(demoKey), last_fv: 0, frames: frameHex(pick([0, 2, 1, 3, 4, 5])), reason: 'malformed' },
    { name: 'malformed: missing last frame', id: snapshotId, key: toHex(demoKey), last_fv: 0, frames: frameHex(pick([0, 1, 2, 3, 4])), reason: 'malformed' },
    {
      name: 'malformed: a frame changes the last index',
      id: snapshotId,
      key: toHex(demoKey),
      last_fv: 0,
      frames: frameHex([...pick([0, 1]), header(snapshotFrames[2] ?? new Uint8Array(0), 2, 4), ...pick([3, 4, 5])]),
      reason: 'malformed',
    },
    {
      name: 'malformed: a frame other than the last with DLC 7',
      id: snapshotId,
      key: toHex(demoKey),
      last_fv: 0,
      frames: frameHex([...pick([0]), (snapshotFrames[1] ?? new Uint8Array(0)).slice(0, 7), ...pick([2, 3, 4, 5])]),
      reason: 'malformed',
    },
    { name: 'malformed: a continuation without frame 0', id: snapshotId, key: toHex(demoKey), last_fv: 0, frames: frameHex(pick([1])), reason: 'malformed' },
    { name: 'malformed: a frame with DLC 1 (no body byte)', id: relayId, key: toHex(demoKey), last_fv: 0, frames: ['00'], reason: 'malformed' },
    bodyRejection('malformed: body too short for FV and MAC (11 bytes)', relayId, demoKey, 0, relayBody.slice(2), 'malformed'),
    bodyRejection('malformed: RELAY payload of 2 bytes, valid MAC', relayId, demoKey, 0, seal(demoKey, relayId, new Uint8Array([1, 0]), 0x1003), 'malformed'),
    bodyRejection('malformed: SNAPSHOT payload of 29 bytes, valid MAC', snapshotId, demoKey, 0, seal(demoKey, snapshotId, Uint8Array.from([...snapshotPayload, 0]), 0x2001), 'malformed'),
    bodyRejection('malformed: CONTROL without an opcode, valid MAC', controlId, demoKey, 0, seal(demoKey, controlId, new Uint8Array(0), 0x1004), 'malformed'),
    bodyRejection('malformed: CONTROL with unknown opcode 0x07, valid MAC', controlId, demoKey, 0, seal(demoKey, controlId, new Uint8Array([0x07]), 0x1005), 'malformed'),
    bodyRejection(
      'malformed: CONTROL IDENTIFY moved to RELAY (the payload length is checked before the MAC)',
      relayId,
      demoKey,
      0,
      seal(demoKey, controlId, identify, 0x1006),
      'malformed',
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Checking a vector the way a receiver does: reassemble, open, decode.

export type ReceiveOutcome =
  | { readonly ok: true; readonly fv: number; readonly payload: Uint8Array }
  | { readonly ok: false; readonly reason: RejectionReasonName | 'bad-value'; readonly detail: string };

/**
 * What every receiver does with `frames` on `id`, in the firmware's order: reassemble (no single
 * complete message: malformed), body of at least FV + MAC and a payload length that fits the
 * function and opcode (else malformed), MAC (bad-mac), freshness (stale), then values (bad-value).
 */
export function receiveFrames(id: number, key: Uint8Array, lastFv: number, frames: readonly Uint8Array[]): ReceiveOutcome {
  const reassembler = new Reassembler({ now: () => 0 });
  const bodies: Uint8Array[] = [];
  const problems: string[] = [];
  for (const data of frames) {
    for (const event of reassembler.push({ id, extended: false, remote: false, dlc: data.length, data })) {
      if (event.kind === 'message') bodies.push(event.body);
      else problems.push(`${event.reason}: ${event.detail}`);
    }
  }
  const body = bodies[0];
  if (bodies.length !== 1 || !body) {
    return { ok: false, reason: 'malformed', detail: `${bodies.length} complete messages; ${problems.join('; ') || 'incomplete'}` };
  }
  if (body.length < SECURITY_OVERHEAD) return { ok: false, reason: 'malformed', detail: `a body of ${body.length} bytes` };
  const { fn } = splitId(id);
  const lengthProblem = payloadLengthProblem(fn, body.subarray(0, body.length - SECURITY_OVERHEAD));
  if (lengthProblem !== undefined) return { ok: false, reason: 'malformed', detail: lengthProblem };
  const opened = open(key, id, body, lastFv);
  if (!opened.ok) return opened;
  if (!isFunctionCode(fn)) return { ok: false, reason: 'malformed', detail: `function ${fn} is reserved` };
  const decoded = isCommandFunction(fn) ? decodeCommand(fn, opened.payload) : decodeRecord(fn, opened.payload);
  if (!decoded.ok) return { ok: false, reason: decoded.reason, detail: decoded.detail };
  return { ok: true, fv: opened.fv, payload: opened.payload };
}

/** JSON with objects one key a line and short arrays and objects on one line, for readable diffs. */
export function formatVectors(vectors: ProtocolVectors): string {
  return `${format(vectors, '')}\n`;
}

function format(value: unknown, indent: string): string {
  const flat = JSON.stringify(value);
  if (typeof value !== 'object' || value === null) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item !== 'object' || item === null)) return `[${value.map((item) => JSON.stringify(item)).join(', ')}]`;
    return `[\n${value.map((item) => inner + format(item, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (flat.length <= 100) return `{ ${entries.map(([key, item]) => `${JSON.stringify(key)}: ${JSON.stringify(item)}`).join(', ')} }`;
  return `{\n${entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${format(item, inner)}`).join(',\n')}\n${indent}}`;
}
