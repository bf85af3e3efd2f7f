/**
 * CAN identifiers of the meter protocol (docs/protocol.md §1): `id = function << 7 | node`.
 * The function is the priority, so load commands win arbitration over everything else.
 */

export const FunctionCode = {
  RELAY: 0,
  TIME: 1,
  CONTROL: 2,
  ACK: 3,
  SNAPSHOT: 4,
  ENERGY: 5,
  STATUS: 6,
  AGGREGATE: 7,
  EVENT: 8,
} as const;
export type FunctionCode = (typeof FunctionCode)[keyof typeof FunctionCode];

/** Functions the aggregator sends. */
export type CommandFunction = typeof FunctionCode.RELAY | typeof FunctionCode.TIME | typeof FunctionCode.CONTROL;
/** Functions a meter sends. */
export type RecordFunction = Exclude<FunctionCode, CommandFunction>;
/** Records the aggregator asks for with a remote frame. */
export type PolledFunction = typeof FunctionCode.SNAPSHOT | typeof FunctionCode.ENERGY | typeof FunctionCode.STATUS;

export const FUNCTION_BITS = 4;
export const NODE_BITS = 7;
export const MAX_FUNCTION = (1 << FUNCTION_BITS) - 1;
export const MAX_NODE = (1 << NODE_BITS) - 1;
/** Node 0: the aggregator as a sender, the broadcast address as a destination. */
export const AGGREGATOR_NODE = 0;
export const BROADCAST_NODE = 0;
export const MIN_METER_NODE = 1;
export const MAX_METER_NODE = MAX_NODE;
export const MAX_ID = (1 << (FUNCTION_BITS + NODE_BITS)) - 1;

const FUNCTION_NAMES: readonly string[] = ['RELAY', 'TIME', 'CONTROL', 'ACK', 'SNAPSHOT', 'ENERGY', 'STATUS', 'AGGREGATE', 'EVENT'];

export function isNode(node: number): boolean {
  return Number.isInteger(node) && node >= 0 && node <= MAX_NODE;
}

export function isMeterNode(node: number): boolean {
  return Number.isInteger(node) && node >= MIN_METER_NODE && node <= MAX_METER_NODE;
}

/** A function this version of the protocol defines (9..15 are reserved and ignored). */
export function isFunctionCode(fn: number): fn is FunctionCode {
  return Number.isInteger(fn) && fn >= FunctionCode.RELAY && fn <= FunctionCode.EVENT;
}

export function isCommandFunction(fn: number): fn is CommandFunction {
  return fn === FunctionCode.RELAY || fn === FunctionCode.TIME || fn === FunctionCode.CONTROL;
}

export function isRecordFunction(fn: number): fn is RecordFunction {
  return isFunctionCode(fn) && !isCommandFunction(fn);
}

export function isPolledFunction(fn: number): fn is PolledFunction {
  return fn === FunctionCode.SNAPSHOT || fn === FunctionCode.ENERGY || fn === FunctionCode.STATUS;
}

export function functionName(fn: number): string {
  return FUNCTION_NAMES[fn] ?? `reserved ${fn}`;
}

/** The 11-bit identifier; throws RangeError for a function outside 0..15 or a node outside 0..127. */
export function canId(fn: number, node: number): number {
  if (!Number.isInteger(fn) || fn < 0 || fn > MAX_FUNCTION) throw new RangeError(`function ${fn} is outside 0..${MAX_FUNCTION}`);
  if (!isNode(node)) throw new RangeError(`node ${node} is outside 0..${MAX_NODE}`);
  return (fn << NODE_BITS) | node;
}

/** Function and node of an 11-bit identifier; throws RangeError outside 0..0x7FF. */
export function splitId(id: number): { fn: number; node: number } {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw new RangeError(`identifier ${id} is outside 0..0x${MAX_ID.toString(16)}`);
  return { fn: id >> NODE_BITS, node: id & MAX_NODE };
}
