/**
 * Identifiers and payloads of the meter protocol, the aggregator's side.
 *
 * Walking-skeleton subset (the secure protocol replaces it, see docs/protocol.md): an 11-bit
 * identifier is `(function << 6) | node`, so the function is the priority and 63 meters fit one
 * bus; node 0 is the aggregator. The aggregator asks for a meter's active power with a remote frame
 * on (ACTIVE_POWER, node); the meter answers with a data frame on the same identifier carrying the
 * power of its last 10-cycle window as int32 milliwatts, little-endian.
 */
import { type CanFrame, remoteFrame } from '../can/frame';

export const NODE_BITS = 6;
export const MAX_NODE_ID = (1 << NODE_BITS) - 1;
export const FUNCTION_ACTIVE_POWER = 0x18;

export function meterId(fn: number, node: number): number {
  if (!Number.isInteger(node) || node < 1 || node > MAX_NODE_ID) throw new RangeError(`node ${node} is outside 1..${MAX_NODE_ID}`);
  return (fn << NODE_BITS) | node;
}

export function splitId(id: number): { fn: number; node: number } {
  return { fn: id >> NODE_BITS, node: id & MAX_NODE_ID };
}

export function activePowerRequest(node: number): CanFrame {
  return remoteFrame(meterId(FUNCTION_ACTIVE_POWER, node), 4);
}

export interface PowerReply {
  readonly node: number;
  /** Active power, W: positive import, negative export. */
  readonly watts: number;
}

/** Reads an active-power reply; undefined for any other frame, or a malformed one. */
export function decodePowerReply(frame: CanFrame): PowerReply | undefined {
  if (frame.extended || frame.remote || frame.dlc !== 4) return undefined;
  const { fn, node } = splitId(frame.id);
  if (fn !== FUNCTION_ACTIVE_POWER || node === 0) return undefined;
  const milliwatts = new DataView(frame.data.buffer, frame.data.byteOffset, 4).getInt32(0, true);
  return { node, watts: milliwatts / 1000 };
}
