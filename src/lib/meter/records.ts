/**
 * Payloads of the secured messages (docs/protocol.md §4 commands, §5 records). Field names follow
 * the spec tables in camelCase; the `*Fields` types hold the integers exactly as transmitted, the
 * decoded `*Record` types add the same quantities in physical units. Decoders never throw: a wrong
 * length or an impossible value comes back as a reason.
 *
 * A receiver checks in this order, as the firmware does: payload length (payloadLengthProblem,
 * before the MAC, so unreadable traffic costs no HMAC), then MAC and freshness, then values.
 */
import { FunctionCode, type CommandFunction, isRecordFunction, type RecordFunction } from './ids';
import { toHex } from './keys';
import { encodeLayout, fieldOffset, type Layout, layoutFields, layoutSize, type PlacedField, readLayout, reserved } from './wire';

/**
 * `malformed`: the payload cannot be read (wrong length for its function and opcode, unknown
 * opcode). `bad-value`: readable, but a value the spec does not allow (a meter answers such a
 * command with ACK "bad arguments").
 */
export type DecodeFailure = 'malformed' | 'bad-value';
export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: DecodeFailure; readonly detail: string };

/** Marks "no THD figure" in SNAPSHOT and AGGREGATE. */
export const THD_NOT_MEASURED = 0xffff;
export const PF_SCALE = 10000;
export const MAX_READ_COUNT = 16;
/** Hysteresis must stay below 10 % of Udin, in 0.01 %. */
export const MAX_HYSTERESIS = 1000;
export const AGGREGATE_PERIOD_S = 600;
export const PROTOCOL_VERSION = 1;
/** The last millisecond of a u32 Unix second: records carry time_s as u32 (TIME's u48 could go further). */
export const MAX_UNIX_MS = 0xffffffff * 1000 + 999;

// ---------------------------------------------------------------------------------------------
// Commands

export const ControlOpcode = {
  SET_THRESHOLDS: 0x01,
  IDENTIFY: 0x02,
  CLEAR_ENERGY_ARM: 0x03,
  CLEAR_ENERGY_CONFIRM: 0x04,
  READ_AGGREGATES: 0x05,
  READ_EVENTS: 0x06,
} as const;
export type ControlOpcode = (typeof ControlOpcode)[keyof typeof ControlOpcode];

export interface RelayCommand {
  readonly function: typeof FunctionCode.RELAY;
  /** 0 off, 1 on. */
  readonly state: 0 | 1;
}

export interface TimeCommand {
  readonly function: typeof FunctionCode.TIME;
  /** Milliseconds since 1970-01-01 UTC. */
  readonly unixMs: number;
}

export interface SetThresholdsCommand {
  readonly function: typeof FunctionCode.CONTROL;
  readonly opcode: typeof ControlOpcode.SET_THRESHOLDS;
  /** 0.01 % of Udin; below `swell`. */
  readonly dip: number;
  /** 0.01 % of Udin. */
  readonly swell: number;
  /** 0.01 % of Udin; below 10 %. */
  readonly hysteresis: number;
  /** Declared supply voltage, 0.01 V. */
  readonly udin: number;
}

export interface IdentifyCommand {
  readonly function: typeof FunctionCode.CONTROL;
  readonly opcode: typeof ControlOpcode.IDENTIFY;
  readonly seconds: number;
}

export interface ClearEnergyArmCommand {
  readonly function: typeof FunctionCode.CONTROL;
  readonly opcode: typeof ControlOpcode.CLEAR_ENERGY_ARM;
}

export interface ClearEnergyConfirmCommand {
  readonly function: typeof FunctionCode.CONTROL;
  readonly opcode: typeof ControlOpcode.CLEAR_ENERGY_CONFIRM;
  /** The value of the ARM's ACK. */
  readonly challenge: number;
  /** The meter's 12-byte unique id. */
  readonly uid: Uint8Array;
  /** The registers being cleared, mWh, exactly as the meter holds them. */
  readonly importMwh: number;
  readonly exportMwh: number;
}

export interface ReadAggregatesCommand {
  readonly function: typeof FunctionCode.CONTROL;
  readonly opcode: typeof ControlOpcode.READ_AGGREGATES;
  /** Unix seconds: aggregates with start_s ≥ from_s. */
  readonly fromS: number;
  /** At most 16. */
  readonly maxCount: number;
}

export interface ReadEventsCommand {
  readonly function: typeof FunctionCode.CONTROL;
  readonly opcode: typeof ControlOpcode.READ_EVENTS;
  /** Events with seq ≥ from_seq. */
  readonly fromSeq: number;
  /** At most 16. */
  readonly maxCount: number;
}

export type ControlCommand =
  | SetThresholdsCommand
  | IdentifyCommand
  | ClearEnergyArmCommand
  | ClearEnergyConfirmCommand
  | ReadAggregatesCommand
  | ReadEventsCommand;

export type Command = RelayCommand | TimeCommand | ControlCommand;

const RELAY_LAYOUT: Layout<RelayCommand> = [['state', 'u8']];
const TIME_LAYOUT: Layout<TimeCommand> = [['unixMs', 'u48']];
const SET_THRESHOLDS_LAYOUT: Layout<SetThresholdsCommand> = [
  ['dip', 'u16'],
  ['swell', 'u16'],
  ['hysteresis', 'u16'],
  ['udin', 'u32'],
];
const IDENTIFY_LAYOUT: Layout<IdentifyCommand> = [['seconds', 'u8']];
const CLEAR_ENERGY_ARM_LAYOUT: Layout<ClearEnergyArmCommand> = [];
const CLEAR_ENERGY_CONFIRM_LAYOUT: Layout<ClearEnergyConfirmCommand> = [
  ['challenge', 'u32'],
  reserved(2),
  // Payload offsets 7..18: the spec's uid_0 (7..13) and uid_1 (14..18), one 12-byte field here.
  ['uid', 'uid'],
  reserved(2),
  ['importMwh', 'u48'],
  reserved(1),
  ['exportMwh', 'u48'],
];
const READ_AGGREGATES_LAYOUT: Layout<ReadAggregatesCommand> = [
  ['fromS', 'u32'],
  ['maxCount', 'u8'],
];
const READ_EVENTS_LAYOUT: Layout<ReadEventsCommand> = [
  ['fromSeq', 'u16'],
  ['maxCount', 'u8'],
];

/**
 * Argument layouts after the opcode byte: a field at layout offset k is at payload offset k + 1,
 * the offset the spec's table gives.
 */
const CONTROL_LAYOUTS: { readonly [O in ControlOpcode]: Layout<Extract<ControlCommand, { opcode: O }>> } = {
  [ControlOpcode.SET_THRESHOLDS]: SET_THRESHOLDS_LAYOUT,
  [ControlOpcode.IDENTIFY]: IDENTIFY_LAYOUT,
  [ControlOpcode.CLEAR_ENERGY_ARM]: CLEAR_ENERGY_ARM_LAYOUT,
  [ControlOpcode.CLEAR_ENERGY_CONFIRM]: CLEAR_ENERGY_CONFIRM_LAYOUT,
  [ControlOpcode.READ_AGGREGATES]: READ_AGGREGATES_LAYOUT,
  [ControlOpcode.READ_EVENTS]: READ_EVENTS_LAYOUT,
};

const CONTROL_NAMES: { readonly [O in ControlOpcode]: string } = {
  [ControlOpcode.SET_THRESHOLDS]: 'SET_THRESHOLDS',
  [ControlOpcode.IDENTIFY]: 'IDENTIFY',
  [ControlOpcode.CLEAR_ENERGY_ARM]: 'CLEAR_ENERGY_ARM',
  [ControlOpcode.CLEAR_ENERGY_CONFIRM]: 'CLEAR_ENERGY_CONFIRM',
  [ControlOpcode.READ_AGGREGATES]: 'READ_AGGREGATES',
  [ControlOpcode.READ_EVENTS]: 'READ_EVENTS',
};

export const RELAY_LENGTH = layoutSize(RELAY_LAYOUT);
export const TIME_LENGTH = layoutSize(TIME_LAYOUT);

export function isControlOpcode(opcode: number): opcode is ControlOpcode {
  return Number.isInteger(opcode) && opcode >= ControlOpcode.SET_THRESHOLDS && opcode <= ControlOpcode.READ_EVENTS;
}

export function controlOpcodeName(opcode: number): string {
  return isControlOpcode(opcode) ? CONTROL_NAMES[opcode] : `unknown opcode 0x${opcode.toString(16).padStart(2, '0')}`;
}

/** Payload length of a CONTROL command with this opcode, the opcode byte included. */
export function controlLength(opcode: ControlOpcode): number {
  return 1 + layoutSize(CONTROL_LAYOUTS[opcode] as Layout<ControlCommand>);
}

/**
 * The payload of a command. Throws RangeError for a field that does not fit its wire type; the
 * semantic rules (dip < swell, …) are the decoder's, so a test can still build a command a meter
 * must refuse.
 */
export function encodeCommand(command: Command): Uint8Array {
  switch (command.function) {
    case FunctionCode.RELAY:
      return encodeLayout(RELAY_LAYOUT, command);
    case FunctionCode.TIME:
      return encodeLayout(TIME_LAYOUT, command);
    case FunctionCode.CONTROL:
      return encodeLayout(CONTROL_LAYOUTS[command.opcode] as Layout<ControlCommand>, command, [command.opcode]);
  }
}

export function decodeCommand(fn: CommandFunction, payload: Uint8Array): DecodeResult<Command> {
  switch (fn) {
    case FunctionCode.RELAY:
      return decodeRelay(payload);
    case FunctionCode.TIME:
      return decodeTime(payload);
    case FunctionCode.CONTROL:
      return decodeControl(payload);
  }
}

export function decodeRelay(payload: Uint8Array): DecodeResult<RelayCommand> {
  return decodeFixed('RELAY', RELAY_LAYOUT, payload, 0, { function: FunctionCode.RELAY }, (c) =>
    c.state === 0 || c.state === 1 ? undefined : `relay state ${c.state} is neither 0 nor 1`,
  );
}

export function decodeTime(payload: Uint8Array): DecodeResult<TimeCommand> {
  return decodeFixed('TIME', TIME_LAYOUT, payload, 0, { function: FunctionCode.TIME }, (c) =>
    c.unixMs <= MAX_UNIX_MS ? undefined : `unix_ms ${c.unixMs} is past the u32 seconds of the records`,
  );
}

export function decodeControl(payload: Uint8Array): DecodeResult<ControlCommand> {
  const opcode = payload[0];
  if (opcode === undefined) return fail('malformed', 'a CONTROL payload needs an opcode');
  // An unknown opcode says nothing about the length of what follows: unreadable.
  if (!isControlOpcode(opcode)) return fail('malformed', `CONTROL ${controlOpcodeName(opcode)}`);
  const layout = CONTROL_LAYOUTS[opcode] as Layout<ControlCommand>;
  return decodeFixed(CONTROL_NAMES[opcode], layout, payload, 1, { function: FunctionCode.CONTROL, opcode }, checkControl);
}

function checkControl(command: ControlCommand): string | undefined {
  switch (command.opcode) {
    case ControlOpcode.SET_THRESHOLDS:
      if (command.dip >= command.swell) return `dip ${command.dip} is not below swell ${command.swell}`;
      if (command.hysteresis >= MAX_HYSTERESIS) return `hysteresis ${command.hysteresis} is not below 10 %`;
      if (command.udin === 0) return 'udin is 0';
      return undefined;
    case ControlOpcode.READ_AGGREGATES:
    case ControlOpcode.READ_EVENTS:
      return command.maxCount > MAX_READ_COUNT ? `max_count ${command.maxCount} exceeds ${MAX_READ_COUNT}` : undefined;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Records

export const AckResult = {
  OK: 0,
  BAD_ARGUMENTS: 1,
  NOT_ARMED: 2,
  MISMATCH: 3,
  BUSY: 4,
  AUTH_FAILED: 5,
  STALE: 6,
} as const;
export type AckResult = (typeof AckResult)[keyof typeof AckResult];
export type AckResultName = 'ok' | 'bad-arguments' | 'not-armed' | 'mismatch' | 'busy' | 'auth-failed' | 'stale';
const ACK_RESULT_NAMES: readonly AckResultName[] = ['ok', 'bad-arguments', 'not-armed', 'mismatch', 'busy', 'auth-failed', 'stale'];

export interface AckFields {
  /** Function of the command answered. */
  readonly function: number;
  /** CONTROL opcode, else 0. */
  readonly opcode: number;
  /** FV of the command answered (as claimed, for failures). */
  readonly commandFv: number;
  readonly result: number;
  /** RELAY: relay state; ARM: the challenge; READ_*: count sent; else 0. */
  readonly value: number;
}

export interface AckRecord extends AckFields {
  readonly resultName: AckResultName;
}

export const SnapshotFlag = { RELAY_ON: 1, TIME_VALID: 2, WINDOW_FLAGGED: 4, NO_VOLTAGE: 8 } as const;

export interface SnapshotFields {
  /** Unix seconds, or seconds since boot when the time is not valid. */
  readonly timeS: number;
  /** 0.01 s. */
  readonly timeCs: number;
  readonly flags: number;
  /** 0.01 V. */
  readonly vrms: number;
  /** mA. */
  readonly irms: number;
  /** mW, positive import. */
  readonly p: number;
  /** mvar (non-active power). */
  readonly n: number;
  /** 0.0001, sign of P. */
  readonly pf: number;
  /** mHz. */
  readonly f: number;
  /** 0.01 %, 0xFFFF = not measured. */
  readonly thdV: number;
  /** 0.01 %, 0xFFFF = not measured. */
  readonly thdI: number;
}

export interface SnapshotRecord extends SnapshotFields {
  readonly relayOn: boolean;
  readonly timeValid: boolean;
  /** A dip, swell or interruption inside the window. */
  readonly windowFlagged: boolean;
  readonly noVoltage: boolean;
  /** time_s + time_cs / 100. */
  readonly seconds: number;
  readonly volts: number;
  readonly amps: number;
  /** Positive import, negative export. */
  readonly watts: number;
  /** Apparent power, VA: not transmitted, S = Vrms × Irms (one phase). */
  readonly voltAmperes: number;
  readonly vars: number;
  /** −1..1, the sign of P. */
  readonly powerFactor: number;
  readonly hertz: number;
  /** Undefined when not measured. */
  readonly thdVoltagePercent: number | undefined;
  readonly thdCurrentPercent: number | undefined;
}

export const EnergyFlag = { TIME_VALID: 2 } as const;

export interface EnergyFields {
  readonly timeS: number;
  readonly flags: number;
  /** mWh, u48 (always an exact number). */
  readonly importMwh: number;
  readonly exportMwh: number;
  /** Increments when the registers are cleared. */
  readonly epoch: number;
  readonly boots: number;
}

export interface EnergyRecord extends EnergyFields {
  readonly timeValid: boolean;
  /** For display; take differences on the mWh integers. */
  readonly importKwh: number;
  readonly exportKwh: number;
}

export const StatusFlag = { RELAY_ON: 1, TIME_VALID: 2, IDENTIFYING: 4, LOCKOUT: 8 } as const;

export interface StatusFields {
  /** 1. */
  readonly protocol: number;
  /** major << 8 | minor. */
  readonly firmware: number;
  readonly build: number;
  /** 12 bytes. */
  readonly uid: Uint8Array;
  readonly flags: number;
  readonly uptimeS: number;
  readonly boots: number;
  readonly rejectedMac: number;
  readonly rejectedStale: number;
  readonly rejectedMalformed: number;
  readonly rateLimited: number;
  /** CAN transmit error counter. */
  readonly tec: number;
  /** CAN receive error counter. */
  readonly rec: number;
}

export interface StatusRecord extends StatusFields {
  readonly uidHex: string;
  readonly firmwareMajor: number;
  readonly firmwareMinor: number;
  readonly relayOn: boolean;
  readonly timeValid: boolean;
  readonly identifying: boolean;
  /** The meter is dropping commands after repeated failed verifications. */
  readonly lockout: boolean;
}

export const AggregateFlag = { FLAGGED: 1 } as const;

export interface AggregateFields {
  /** Unix seconds on the 10-minute boundary. */
  readonly startS: number;
  readonly flags: number;
  /** 0.01 V. */
  readonly vrmsMean: number;
  readonly vrmsMin: number;
  readonly vrmsMax: number;
  /** mW. */
  readonly pMean: number;
  readonly pMin: number;
  readonly pMax: number;
  /** mHz. */
  readonly fMean: number;
  /** 0.01 %, 0xFFFF = not measured. */
  readonly thdV: number;
  readonly thdI: number;
  /** mWh within the interval. */
  readonly importMwh: number;
  readonly exportMwh: number;
}

export interface AggregateRecord extends AggregateFields {
  /** IEC 61000-4-30: a dip, swell or interruption inside. */
  readonly flagged: boolean;
  readonly voltsMean: number;
  readonly voltsMin: number;
  readonly voltsMax: number;
  readonly wattsMean: number;
  readonly wattsMin: number;
  readonly wattsMax: number;
  readonly hertzMean: number;
  readonly thdVoltagePercent: number | undefined;
  readonly thdCurrentPercent: number | undefined;
}

export const EventKind = { DIP: 1, SWELL: 2, INTERRUPTION: 3 } as const;
export type EventKindName = 'dip' | 'swell' | 'interruption';
const EVENT_KIND_NAMES: readonly EventKindName[] = ['dip', 'swell', 'interruption'];

export interface EventFields {
  /** Event number since provisioning. */
  readonly seq: number;
  /** 1 dip, 2 swell, 3 interruption. */
  readonly kind: number;
  readonly startS: number;
  /** 0..999. */
  readonly startMs: number;
  readonly durationMs: number;
  /** 0.01 V: residual voltage of a dip, peak of a swell. */
  readonly extreme: number;
}

export interface EventRecord extends EventFields {
  readonly kindName: EventKindName;
  /** start_s + start_ms / 1000. */
  readonly seconds: number;
  readonly extremeVolts: number;
}

// Record layouts in the order and at the offsets of the spec's tables (§5).
const ACK_LAYOUT: Layout<AckFields> = [
  ['commandFv', 'u32'],
  ['function', 'u8'],
  ['opcode', 'u8'],
  ['result', 'u8'],
  ['value', 'u32'],
];
const SNAPSHOT_LAYOUT: Layout<SnapshotFields> = [
  ['timeS', 'u32'],
  ['timeCs', 'u8'],
  ['vrms', 'u16'],
  ['p', 'i32'],
  ['irms', 'u16'],
  ['flags', 'u8'],
  ['n', 'u32'],
  ['pf', 'i16'],
  reserved(1),
  ['f', 'u16'],
  ['thdV', 'u16'],
  ['thdI', 'u16'],
  reserved(1),
];
const ENERGY_LAYOUT: Layout<EnergyFields> = [
  ['importMwh', 'u48'],
  ['flags', 'u8'],
  ['exportMwh', 'u48'],
  reserved(1),
  ['timeS', 'u32'],
  ['epoch', 'u16'],
  reserved(1),
  ['boots', 'u16'],
];
const STATUS_LAYOUT: Layout<StatusFields> = [
  ['protocol', 'u8'],
  ['firmware', 'u16'],
  ['build', 'u16'],
  ['flags', 'u8'],
  ['tec', 'u8'],
  // Offsets 7..18: the spec's uid_0 (7..13) and uid_1 (14..18), one 12-byte field here.
  ['uid', 'uid'],
  ['boots', 'u16'],
  ['uptimeS', 'u32'],
  ['rejectedMac', 'u16'],
  ['rec', 'u8'],
  ['rejectedStale', 'u16'],
  ['rejectedMalformed', 'u16'],
  ['rateLimited', 'u16'],
  reserved(1),
];
const AGGREGATE_LAYOUT: Layout<AggregateFields> = [
  ['startS', 'u32'],
  ['flags', 'u8'],
  ['fMean', 'u16'],
  ['pMean', 'i32'],
  ['vrmsMean', 'u16'],
  reserved(1),
  ['pMin', 'i32'],
  ['vrmsMin', 'u16'],
  reserved(1),
  ['pMax', 'i32'],
  ['vrmsMax', 'u16'],
  reserved(1),
  ['importMwh', 'u32'],
  ['thdV', 'u16'],
  reserved(1),
  ['exportMwh', 'u32'],
  ['thdI', 'u16'],
  reserved(1),
];
const EVENT_LAYOUT: Layout<EventFields> = [
  ['startS', 'u32'],
  ['seq', 'u16'],
  ['kind', 'u8'],
  ['durationMs', 'u32'],
  ['startMs', 'u16'],
  reserved(1),
  ['extreme', 'u16'],
];

export const ACK_LENGTH = layoutSize(ACK_LAYOUT);
export const SNAPSHOT_LENGTH = layoutSize(SNAPSHOT_LAYOUT);
export const ENERGY_LENGTH = layoutSize(ENERGY_LAYOUT);
export const STATUS_LENGTH = layoutSize(STATUS_LAYOUT);
export const AGGREGATE_LENGTH = layoutSize(AGGREGATE_LAYOUT);
export const EVENT_LENGTH = layoutSize(EVENT_LAYOUT);

export const RECORD_LENGTHS: { readonly [F in RecordFunction]: number } = {
  [FunctionCode.ACK]: ACK_LENGTH,
  [FunctionCode.SNAPSHOT]: SNAPSHOT_LENGTH,
  [FunctionCode.ENERGY]: ENERGY_LENGTH,
  [FunctionCode.STATUS]: STATUS_LENGTH,
  [FunctionCode.AGGREGATE]: AGGREGATE_LENGTH,
  [FunctionCode.EVENT]: EVENT_LENGTH,
};

/** Where the uid sits in a STATUS payload: read before the MAC can be checked, to derive the key. */
export const STATUS_UID_OFFSET = fieldOffset(STATUS_LAYOUT, 'uid');

export function encodeAck(fields: AckFields): Uint8Array {
  return encodeLayout(ACK_LAYOUT, fields);
}
export function encodeSnapshot(fields: SnapshotFields): Uint8Array {
  return encodeLayout(SNAPSHOT_LAYOUT, fields);
}
export function encodeEnergy(fields: EnergyFields): Uint8Array {
  return encodeLayout(ENERGY_LAYOUT, fields);
}
export function encodeStatus(fields: StatusFields): Uint8Array {
  return encodeLayout(STATUS_LAYOUT, fields);
}
export function encodeAggregate(fields: AggregateFields): Uint8Array {
  return encodeLayout(AGGREGATE_LAYOUT, fields);
}
export function encodeEvent(fields: EventFields): Uint8Array {
  return encodeLayout(EVENT_LAYOUT, fields);
}

export function decodeAck(payload: Uint8Array): DecodeResult<AckRecord> {
  return decodeRecordWith('ACK', ACK_LAYOUT, payload, checkAck, (a) => ({
    ...a,
    resultName: ACK_RESULT_NAMES[a.result] ?? 'ok',
  }));
}

function checkAck(a: AckFields): string | undefined {
  if (a.function !== FunctionCode.RELAY && a.function !== FunctionCode.TIME && a.function !== FunctionCode.CONTROL) {
    return `function ${a.function} is not a command`;
  }
  // A CONTROL ACK echoes whatever opcode it answers, a refused unknown one included.
  if (a.function !== FunctionCode.CONTROL && a.opcode !== 0) return `opcode ${a.opcode} on a non-CONTROL ACK`;
  if (a.result >= ACK_RESULT_NAMES.length) return `result ${a.result} is undefined`;
  return undefined;
}

export function decodeSnapshot(payload: Uint8Array): DecodeResult<SnapshotRecord> {
  return decodeRecordWith(
    'SNAPSHOT',
    SNAPSHOT_LAYOUT,
    payload,
    (s) => {
      if (s.timeCs > 99) return `time_cs ${s.timeCs} exceeds 99`;
      if (Math.abs(s.pf) > PF_SCALE) return `power factor ${s.pf} is outside ±${PF_SCALE}`;
      return undefined;
    },
    (s) => ({
      ...s,
      relayOn: (s.flags & SnapshotFlag.RELAY_ON) !== 0,
      timeValid: (s.flags & SnapshotFlag.TIME_VALID) !== 0,
      windowFlagged: (s.flags & SnapshotFlag.WINDOW_FLAGGED) !== 0,
      noVoltage: (s.flags & SnapshotFlag.NO_VOLTAGE) !== 0,
      seconds: s.timeS + s.timeCs / 100,
      volts: s.vrms / 100,
      amps: s.irms / 1000,
      watts: s.p / 1000,
      // Not transmitted: S = Vrms × Irms for one phase (spec §5 SNAPSHOT). The integer product
      // (0.01 V × mA) is exact, so one division gives volts × amps with a single rounding.
      voltAmperes: (s.vrms * s.irms) / 100_000,
      vars: s.n / 1000,
      powerFactor: s.pf / PF_SCALE,
      hertz: s.f / 1000,
      thdVoltagePercent: thdPercent(s.thdV),
      thdCurrentPercent: thdPercent(s.thdI),
    }),
  );
}

export function decodeEnergy(payload: Uint8Array): DecodeResult<EnergyRecord> {
  return decodeRecordWith('ENERGY', ENERGY_LAYOUT, payload, () => undefined, (e) => ({
    ...e,
    timeValid: (e.flags & EnergyFlag.TIME_VALID) !== 0,
    importKwh: e.importMwh / 1e6,
    exportKwh: e.exportMwh / 1e6,
  }));
}

export function decodeStatus(payload: Uint8Array): DecodeResult<StatusRecord> {
  return decodeRecordWith(
    'STATUS',
    STATUS_LAYOUT,
    payload,
    (s) => (s.protocol === PROTOCOL_VERSION ? undefined : `protocol ${s.protocol} is not ${PROTOCOL_VERSION}`),
    (s) => ({
      ...s,
      uidHex: toHex(s.uid),
      firmwareMajor: s.firmware >> 8,
      firmwareMinor: s.firmware & 0xff,
      relayOn: (s.flags & StatusFlag.RELAY_ON) !== 0,
      timeValid: (s.flags & StatusFlag.TIME_VALID) !== 0,
      identifying: (s.flags & StatusFlag.IDENTIFYING) !== 0,
      lockout: (s.flags & StatusFlag.LOCKOUT) !== 0,
    }),
  );
}

export function decodeAggregate(payload: Uint8Array): DecodeResult<AggregateRecord> {
  return decodeRecordWith(
    'AGGREGATE',
    AGGREGATE_LAYOUT,
    payload,
    (a) => (a.startS % AGGREGATE_PERIOD_S === 0 ? undefined : `start_s ${a.startS} is not on a 10-minute boundary`),
    (a) => ({
      ...a,
      flagged: (a.flags & AggregateFlag.FLAGGED) !== 0,
      voltsMean: a.vrmsMean / 100,
      voltsMin: a.vrmsMin / 100,
      voltsMax: a.vrmsMax / 100,
      wattsMean: a.pMean / 1000,
      wattsMin: a.pMin / 1000,
      wattsMax: a.pMax / 1000,
      hertzMean: a.fMean / 1000,
      thdVoltagePercent: thdPercent(a.thdV),
      thdCurrentPercent: thdPercent(a.thdI),
    }),
  );
}

export function decodeEvent(payload: Uint8Array): DecodeResult<EventRecord> {
  return decodeRecordWith(
    'EVENT',
    EVENT_LAYOUT,
    payload,
    (e) => {
      if (e.kind < EventKind.DIP || e.kind > EventKind.INTERRUPTION) return `event kind ${e.kind} is undefined`;
      if (e.startMs > 999) return `start_ms ${e.startMs} exceeds 999`;
      return undefined;
    },
    (e) => ({
      ...e,
      kindName: EVENT_KIND_NAMES[e.kind - 1] ?? 'dip',
      seconds: e.startS + e.startMs / 1000,
      extremeVolts: e.extreme / 100,
    }),
  );
}

/** Any record, tagged by the function it travelled on. */
export type MeterRecord =
  | { readonly function: typeof FunctionCode.ACK; readonly ack: AckRecord }
  | { readonly function: typeof FunctionCode.SNAPSHOT; readonly snapshot: SnapshotRecord }
  | { readonly function: typeof FunctionCode.ENERGY; readonly energy: EnergyRecord }
  | { readonly function: typeof FunctionCode.STATUS; readonly status: StatusRecord }
  | { readonly function: typeof FunctionCode.AGGREGATE; readonly aggregate: AggregateRecord }
  | { readonly function: typeof FunctionCode.EVENT; readonly event: EventRecord };

export function decodeRecord(fn: RecordFunction, payload: Uint8Array): DecodeResult<MeterRecord> {
  switch (fn) {
    case FunctionCode.ACK:
      return wrap(decodeAck(payload), (ack) => ({ function: fn, ack }));
    case FunctionCode.SNAPSHOT:
      return wrap(decodeSnapshot(payload), (snapshot) => ({ function: fn, snapshot }));
    case FunctionCode.ENERGY:
      return wrap(decodeEnergy(payload), (energy) => ({ function: fn, energy }));
    case FunctionCode.STATUS:
      return wrap(decodeStatus(payload), (status) => ({ function: fn, status }));
    case FunctionCode.AGGREGATE:
      return wrap(decodeAggregate(payload), (aggregate) => ({ function: fn, aggregate }));
    case FunctionCode.EVENT:
      return wrap(decodeEvent(payload), (event) => ({ function: fn, event }));
  }
}

const RECORD_LAYOUTS: { readonly [F in RecordFunction]: Layout<never> } = {
  [FunctionCode.ACK]: ACK_LAYOUT,
  [FunctionCode.SNAPSHOT]: SNAPSHOT_LAYOUT,
  [FunctionCode.ENERGY]: ENERGY_LAYOUT,
  [FunctionCode.STATUS]: STATUS_LAYOUT,
  [FunctionCode.AGGREGATE]: AGGREGATE_LAYOUT,
  [FunctionCode.EVENT]: EVENT_LAYOUT,
};

/**
 * Why a payload cannot be read on `fn`, judged by its length (and CONTROL's opcode) alone; undefined
 * if its length is right. Needs no key, so a receiver checks it before the MAC.
 */
export function payloadLengthProblem(fn: number, payload: Uint8Array): string | undefined {
  let expected: number;
  let name: string;
  if (fn === FunctionCode.RELAY || fn === FunctionCode.TIME) {
    expected = fn === FunctionCode.RELAY ? RELAY_LENGTH : TIME_LENGTH;
    name = fn === FunctionCode.RELAY ? 'RELAY' : 'TIME';
  } else if (fn === FunctionCode.CONTROL) {
    const opcode = payload[0];
    if (opcode === undefined) return 'a CONTROL payload needs an opcode';
    if (!isControlOpcode(opcode)) return `CONTROL ${controlOpcodeName(opcode)}`;
    expected = controlLength(opcode);
    name = CONTROL_NAMES[opcode];
  } else if (isRecordFunction(fn)) {
    expected = RECORD_LENGTHS[fn];
    name = RECORD_NAMES[fn];
  } else {
    return `function ${fn} is reserved`;
  }
  return payload.length === expected ? undefined : `${name} takes ${expected} bytes, not ${payload.length}`;
}

const RECORD_NAMES: { readonly [F in RecordFunction]: string } = {
  [FunctionCode.ACK]: 'ACK',
  [FunctionCode.SNAPSHOT]: 'SNAPSHOT',
  [FunctionCode.ENERGY]: 'ENERGY',
  [FunctionCode.STATUS]: 'STATUS',
  [FunctionCode.AGGREGATE]: 'AGGREGATE',
  [FunctionCode.EVENT]: 'EVENT',
};

/**
 * The wire fields of a payload in transmission order, camelCase; CONTROL's begin with `opcode`.
 * For tools and test vectors that list fields without knowing the types.
 */
export function payloadFieldNames(fn: FunctionCode, opcode?: ControlOpcode): readonly string[] {
  switch (fn) {
    case FunctionCode.RELAY:
      return fieldNames(RELAY_LAYOUT);
    case FunctionCode.TIME:
      return fieldNames(TIME_LAYOUT);
    case FunctionCode.CONTROL: {
      if (opcode === undefined) throw new RangeError('CONTROL fields depend on the opcode');
      return ['opcode', ...fieldNames(CONTROL_LAYOUTS[opcode] as Layout<ControlCommand>)];
    }
    default:
      return fieldNames(RECORD_LAYOUTS[fn]);
  }
}

function fieldNames<T>(layout: Layout<T>): string[] {
  return layoutFields(layout).map(({ name }) => name);
}

export interface PayloadLayout {
  /** Payload length in bytes, reserved bytes included. */
  readonly length: number;
  /** The named fields at their payload offsets (CONTROL's opcode byte counted); reserved bytes left out. */
  readonly fields: readonly PlacedField[];
}

/**
 * Every payload layout keyed by the spec's name (RELAY, TIME, SET_THRESHOLDS … READ_EVENTS, ACK …
 * EVENT), for checking the layouts against the spec's offset tables and frame boundaries.
 */
export function payloadLayouts(): Readonly<Record<string, PayloadLayout>> {
  const placed = <T>(layout: Layout<T>, prefix: number): PayloadLayout => ({
    length: prefix + layoutSize(layout),
    fields: [
      ...(prefix === 1 ? [{ name: 'opcode', type: 'u8' as const, offset: 0, size: 1 }] : []),
      ...layoutFields(layout).map((field) => ({ ...field, offset: field.offset + prefix })),
    ],
  });
  const layouts: Record<string, PayloadLayout> = { RELAY: placed(RELAY_LAYOUT, 0), TIME: placed(TIME_LAYOUT, 0) };
  for (const opcode of Object.values(ControlOpcode)) layouts[CONTROL_NAMES[opcode]] = placed(CONTROL_LAYOUTS[opcode] as Layout<ControlCommand>, 1);
  for (const [fn, name] of Object.entries(RECORD_NAMES)) layouts[name] = placed(RECORD_LAYOUTS[Number(fn) as RecordFunction], 0);
  return layouts;
}

// ---------------------------------------------------------------------------------------------

function thdPercent(raw: number): number | undefined {
  return raw === THD_NOT_MEASURED ? undefined : raw / 100;
}

function fail(reason: DecodeFailure, detail: string): { ok: false; reason: DecodeFailure; detail: string } {
  return { ok: false, reason, detail };
}

function wrap<T, U>(result: DecodeResult<T>, map: (value: T) => U): DecodeResult<U> {
  return result.ok ? { ok: true, value: map(result.value) } : result;
}

function decodeFixed<T>(
  name: string,
  layout: Layout<T>,
  payload: Uint8Array,
  offset: number,
  tag: Partial<T>,
  check: (value: T) => string | undefined,
): DecodeResult<T> {
  const expected = offset + layoutSize(layout);
  if (payload.length !== expected) return fail('malformed', `${name} takes ${expected} bytes, not ${payload.length}`);
  const fields = readLayout(layout, payload, offset);
  const value = { ...tag, ...fields } as T;
  const problem = check(value);
  return problem === undefined ? { ok: true, value } : fail('bad-value', `${name}: ${problem}`);
}

function decodeRecordWith<F, R>(
  name: string,
  layout: Layout<F>,
  payload: Uint8Array,
  check: (fields: F) => string | undefined,
  interpret: (fields: F) => R,
): DecodeResult<R> {
  const result = decodeFixed(name, layout, payload, 0, {}, check);
  return result.ok ? { ok: true, value: interpret(result.value) } : result;
}
