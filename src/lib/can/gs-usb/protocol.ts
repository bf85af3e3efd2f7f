/**
 * The gs_usb protocol (candleLight firmware, Linux drivers/net/can/usb/gs_usb.c) as pure functions:
 * control requests, the host frame on the bulk endpoints, bit timing from the device's BT_CONST and
 * clock, and error frames (linux/can/error.h). Facts from shared/reference/can-adapters.md §2; all
 * multi-byte fields are little-endian (candleLight ignores the byte-order request).
 */
import { CAN_EFF_FLAG, CAN_EFF_MASK, CAN_ERR_FLAG, CAN_RTR_FLAG, CAN_SFF_MASK, decodeErrorFrame, type ErrorInfo } from '../error-frame';
import { type CanFrame, validated } from '../frame';
import type { BusState } from '../transport';

export { CAN_EFF_FLAG, CAN_EFF_MASK, CAN_ERR_FLAG, CAN_RTR_FLAG, CAN_SFF_MASK, CanError, CanErrorCrtl, CanErrorProt, decodeErrorFrame, type ErrorInfo } from '../error-frame';

/** Control requests (bRequest), vendor type, recipient interface. */
export const GsRequest = {
  HOST_FORMAT: 0,
  BITTIMING: 1,
  MODE: 2,
  BERR: 3,
  BT_CONST: 4,
  DEVICE_CONFIG: 5,
  TIMESTAMP: 6,
  IDENTIFY: 7,
  GET_STATE: 14,
  BUS_OFF_RECOVERY: 32,
} as const;

/** Feature bits of BT_CONST, and the same bits as MODE flags. */
export const GsFeature = {
  LISTEN_ONLY: 1 << 0,
  LOOP_BACK: 1 << 1,
  TRIPLE_SAMPLE: 1 << 2,
  ONE_SHOT: 1 << 3,
  HW_TIMESTAMP: 1 << 4,
  IDENTIFY: 1 << 5,
  USER_ID: 1 << 6,
  PAD_PKTS_TO_MAX_PKT_SIZE: 1 << 7,
  FD: 1 << 8,
  BT_CONST_EXT: 1 << 10,
  TERMINATION: 1 << 11,
  BERR_REPORTING: 1 << 12,
  GET_STATE: 1 << 13,
  BUS_OFF_RECOVERY: 1 << 18,
} as const;

export const GsMode = { RESET: 0, START: 1 } as const;

/** echo_id of frames the device received from the bus (not echoes of ours). */
export const ECHO_ID_RX = 0xffffffff;
/** flags byte of a host frame. */
export const GS_FLAG_OVERFLOW = 0x01;

export const HOST_FRAME_BYTES = 20;
export const HOST_FRAME_TIMESTAMP_BYTES = 24;
export const BT_CONST_BYTES = 40;
export const DEVICE_CONFIG_BYTES = 12;
export const GET_STATE_BYTES = 12;
/** HOST_FORMAT payload: 0x0000BEEF, little-endian. */
export const HOST_FORMAT_BEEF = Uint8Array.of(0xef, 0xbe, 0x00, 0x00);

/** Interface class of the gs_usb interface (vendor specific); the DFU interface is 0xFE. */
export const GS_USB_INTERFACE_CLASS = 0xff;

export interface BtConst {
  readonly features: number;
  readonly fclkCan: number;
  readonly tseg1Min: number;
  readonly tseg1Max: number;
  readonly tseg2Min: number;
  readonly tseg2Max: number;
  readonly sjwMax: number;
  readonly brpMin: number;
  readonly brpMax: number;
  readonly brpInc: number;
}

export interface DeviceConfig {
  /** Channels − 1. */
  readonly icount: number;
  readonly swVersion: number;
  readonly hwVersion: number;
}

export interface BitTiming {
  readonly propSeg: number;
  readonly phaseSeg1: number;
  readonly phaseSeg2: number;
  readonly sjw: number;
  readonly brp: number;
}

export interface DeviceState {
  readonly state: BusState;
  readonly rxErrors: number;
  readonly txErrors: number;
}

export class GsUsbProtocolError extends Error {
  override readonly name = 'GsUsbProtocolError';
}

function u32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

function words(values: readonly number[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(4 * i, v >>> 0, true));
  return out;
}

export function parseBtConst(bytes: Uint8Array): BtConst {
  if (bytes.length < BT_CONST_BYTES) throw new GsUsbProtocolError(`BT_CONST has ${bytes.length} bytes, not ${BT_CONST_BYTES}`);
  const w = (i: number) => u32(bytes, 4 * i);
  return { features: w(0), fclkCan: w(1), tseg1Min: w(2), tseg1Max: w(3), tseg2Min: w(4), tseg2Max: w(5), sjwMax: w(6), brpMin: w(7), brpMax: w(8), brpInc: w(9) };
}

export function encodeBtConst(c: BtConst): Uint8Array<ArrayBuffer> {
  return words([c.features, c.fclkCan, c.tseg1Min, c.tseg1Max, c.tseg2Min, c.tseg2Max, c.sjwMax, c.brpMin, c.brpMax, c.brpInc]);
}

export function parseDeviceConfig(bytes: Uint8Array): DeviceConfig {
  if (bytes.length < DEVICE_CONFIG_BYTES) throw new GsUsbProtocolError(`DEVICE_CONFIG has ${bytes.length} bytes, not ${DEVICE_CONFIG_BYTES}`);
  return { icount: bytes[3] ?? 0, swVersion: u32(bytes, 4), hwVersion: u32(bytes, 8) };
}

export function encodeDeviceConfig(c: DeviceConfig): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(DEVICE_CONFIG_BYTES);
  out[3] = c.icount;
  out.set(words([c.swVersion, c.hwVersion]), 4);
  return out;
}

export function encodeBitTiming(t: BitTiming): Uint8Array<ArrayBuffer> {
  return words([t.propSeg, t.phaseSeg1, t.phaseSeg2, t.sjw, t.brp]);
}

export function parseBitTiming(bytes: Uint8Array): BitTiming {
  if (bytes.length < 20) throw new GsUsbProtocolError(`BITTIMING has ${bytes.length} bytes, not 20`);
  return { propSeg: u32(bytes, 0), phaseSeg1: u32(bytes, 4), phaseSeg2: u32(bytes, 8), sjw: u32(bytes, 12), brp: u32(bytes, 16) };
}

export function encodeMode(mode: number, flags: number): Uint8Array<ArrayBuffer> {
  return words([mode, flags]);
}

export function parseMode(bytes: Uint8Array): { mode: number; flags: number } {
  if (bytes.length < 8) throw new GsUsbProtocolError(`MODE has ${bytes.length} bytes, not 8`);
  return { mode: u32(bytes, 0), flags: u32(bytes, 4) };
}

const STATES: readonly BusState[] = ['error-active', 'error-warning', 'error-passive', 'bus-off', 'stopped', 'stopped'];

export function parseDeviceState(bytes: Uint8Array): DeviceState {
  if (bytes.length < GET_STATE_BYTES) throw new GsUsbProtocolError(`GET_STATE has ${bytes.length} bytes, not ${GET_STATE_BYTES}`);
  return { state: STATES[u32(bytes, 0)] ?? 'stopped', rxErrors: u32(bytes, 4), txErrors: u32(bytes, 8) };
}

export function encodeDeviceState(s: DeviceState): Uint8Array<ArrayBuffer> {
  return words([STATES.indexOf(s.state), s.rxErrors, s.txErrors]);
}

/** Bit bitrate of a timing at the device's clock. */
export function timingBitrate(fclk: number, t: BitTiming): number {
  return fclk / (t.brp * (1 + t.propSeg + t.phaseSeg1 + t.phaseSeg2));
}

/** CiA 301's recommended sample points: 75 % at 1 Mbit/s, 80 % at 800 kbit/s, 87.5 % below. */
export function recommendedSamplePoint(bitrate: number): number {
  return bitrate > 800_000 ? 0.75 : bitrate > 500_000 ? 0.8 : 0.875;
}

/**
 * Bit timing for `bitrate` within the device's limits (cf. Linux can_calc_bittiming): for each
 * prescaler, the number of time quanta that gives the bit rate, split so the sample point lands
 * nearest the recommended one; the best sample point wins, then the most quanta. Throws RangeError
 * when no prescaler gives the rate within 0.1 %.
 */
export function computeBitTiming(c: BtConst, bitrate: number, samplePoint = recommendedSamplePoint(bitrate)): BitTiming {
  let best: { timing: BitTiming; spError: number; quanta: number } | undefined;
  const minQuanta = 1 + c.tseg1Min + c.tseg2Min;
  const maxQuanta = 1 + c.tseg1Max + c.tseg2Max;
  for (let brp = c.brpMin; brp <= c.brpMax; brp += Math.max(1, c.brpInc)) {
    const quanta = Math.round(c.fclkCan / (brp * bitrate));
    if (quanta < minQuanta) break;
    if (quanta > maxQuanta) continue;
    if (Math.abs(c.fclkCan / (brp * quanta) - bitrate) / bitrate > 0.001) continue;
    let tseg2 = Math.round(quanta * (1 - samplePoint));
    tseg2 = Math.min(c.tseg2Max, Math.max(c.tseg2Min, tseg2));
    let tseg1 = quanta - 1 - tseg2;
    if (tseg1 > c.tseg1Max) {
      tseg1 = c.tseg1Max;
      tseg2 = quanta - 1 - tseg1;
    }
    if (tseg1 < c.tseg1Min || tseg2 < c.tseg2Min || tseg2 > c.tseg2Max) continue;
    const spError = Math.abs((1 + tseg1) / quanta - samplePoint);
    const sjw = Math.max(1, Math.min(c.sjwMax, Math.floor(tseg2 / 2)));
    const timing: BitTiming = { propSeg: 1, phaseSeg1: tseg1 - 1, phaseSeg2: tseg2, sjw, brp };
    if (!best || spError < best.spError - 1e-9 || (Math.abs(spError - best.spError) <= 1e-9 && quanta > best.quanta)) best = { timing, spError, quanta };
  }
  if (!best) throw new RangeError(`a ${c.fclkCan / 1e6} MHz CAN clock cannot make ${bitrate} bit/s within the device's limits`);
  return best.timing;
}

/** A frame to send, as the 20-byte classic host frame. */
export function encodeHostFrame(frame: CanFrame, echoId: number, channel = 0): Uint8Array<ArrayBuffer> {
  const f = validated(frame);
  const out = new Uint8Array(HOST_FRAME_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, echoId >>> 0, true);
  view.setUint32(4, (f.id | (f.extended ? CAN_EFF_FLAG : 0) | (f.remote ? CAN_RTR_FLAG : 0)) >>> 0, true);
  out[8] = f.dlc;
  out[9] = channel;
  // flags and reserved stay 0: old firmwares echoed flags back as spurious overflows (candleLight #87).
  if (!f.remote) out.set(f.data, 12);
  return out;
}

export type HostFrame =
  | { readonly kind: 'frame'; readonly echoId: number; readonly frame: CanFrame; readonly channel: number; readonly overflow: boolean; readonly timestampUs?: number }
  | { readonly kind: 'error'; readonly echoId: number; readonly error: ErrorInfo; readonly channel: number; readonly overflow: boolean; readonly timestampUs?: number }
  | { readonly kind: 'invalid'; readonly reason: string };

/** A host frame from the IN endpoint; `timestamps` if the channel was started with HW_TIMESTAMP. */
export function decodeHostFrame(bytes: Uint8Array, timestamps: boolean): HostFrame {
  const size = timestamps ? HOST_FRAME_TIMESTAMP_BYTES : HOST_FRAME_BYTES;
  if (bytes.length < size) return { kind: 'invalid', reason: `a transfer of ${bytes.length} bytes is not a whole ${size}-byte gs_usb frame` };
  const echoId = u32(bytes, 0);
  const canId = u32(bytes, 4);
  const dlc = bytes[8] ?? 0;
  const channel = bytes[9] ?? 0;
  const overflow = ((bytes[10] ?? 0) & GS_FLAG_OVERFLOW) !== 0;
  const timestampUs = timestamps ? u32(bytes, 20) : undefined;
  const stamp = timestampUs === undefined ? {} : { timestampUs };
  if (dlc > 8) return { kind: 'invalid', reason: `data length code ${dlc} is outside 0..8 (a CAN FD frame?)` };
  const data = bytes.slice(12, 12 + 8);
  if (canId & CAN_ERR_FLAG) return { kind: 'error', echoId, error: decodeErrorFrame(canId, data), channel, overflow, ...stamp };
  const extended = (canId & CAN_EFF_FLAG) !== 0;
  const remote = (canId & CAN_RTR_FLAG) !== 0;
  const id = canId & (extended ? CAN_EFF_MASK : CAN_SFF_MASK);
  const frame: CanFrame = { id, extended, remote, dlc, data: remote ? new Uint8Array(0) : data.slice(0, dlc) };
  return { kind: 'frame', echoId, frame, channel, overflow, ...stamp };
}

/** An error frame as the device sends it, for the emulator and tests. */
export function encodeErrorFrame(classes: number, data: ArrayLike<number>, timestampUs?: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(timestampUs === undefined ? HOST_FRAME_BYTES : HOST_FRAME_TIMESTAMP_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, ECHO_ID_RX, true);
  view.setUint32(4, (CAN_ERR_FLAG | classes) >>> 0, true);
  out[8] = 8;
  out.set(Array.from(data).slice(0, 8), 12);
  if (timestampUs !== undefined) view.setUint32(20, timestampUs >>> 0, true);
  return out;
}
