/**
 * SocketCAN's identifier flags and error frames (linux/can.h, linux/can/error.h): gs_usb adapters
 * send error frames in this form, and candump logs record them so (`20000080#…`).
 */
import type { BusErrorKind, BusState } from './transport';

export const CAN_EFF_FLAG = 0x80000000;
export const CAN_RTR_FLAG = 0x40000000;
export const CAN_ERR_FLAG = 0x20000000;
export const CAN_EFF_MASK = 0x1fffffff;
export const CAN_SFF_MASK = 0x7ff;

export interface ErrorInfo {
  /** The controller state the frame reports, if it reports one. */
  readonly state?: BusState;
  readonly kinds: readonly BusErrorKind[];
  readonly txErrors?: number;
  readonly rxErrors?: number;
  /** The controller came back from bus-off. */
  readonly restarted: boolean;
  readonly description: string;
}

/** Error classes of can_id (linux/can/error.h). */
export const CanError = {
  TX_TIMEOUT: 0x001,
  LOSTARB: 0x002,
  CRTL: 0x004,
  PROT: 0x008,
  TRX: 0x010,
  ACK: 0x020,
  BUSOFF: 0x040,
  BUSERROR: 0x080,
  RESTARTED: 0x100,
  CNT: 0x200,
} as const;

/** data[1] of a CRTL error. */
export const CanErrorCrtl = { RX_OVERFLOW: 0x01, TX_OVERFLOW: 0x02, RX_WARNING: 0x04, TX_WARNING: 0x08, RX_PASSIVE: 0x10, TX_PASSIVE: 0x20, ACTIVE: 0x40 } as const;
/** data[2] of a PROT error. */
export const CanErrorProt = { BIT: 0x01, FORM: 0x02, STUFF: 0x04, BIT0: 0x08, BIT1: 0x10, OVERLOAD: 0x20, ACTIVE: 0x40, TX: 0x80 } as const;

export function decodeErrorFrame(canId: number, data: Uint8Array): ErrorInfo {
  const cls = canId & CAN_EFF_MASK;
  const kinds: BusErrorKind[] = [];
  const parts: string[] = [];
  let state: BusState | undefined;
  const crtl = data[1] ?? 0;
  const prot = data[2] ?? 0;
  if (cls & CanError.BUSOFF) {
    state = 'bus-off';
    parts.push('bus-off');
  }
  if (cls & CanError.CRTL) {
    if (crtl & CanErrorCrtl.RX_OVERFLOW) {
      kinds.push('rx-overflow');
      parts.push('controller receive overflow');
    }
    if (crtl & CanErrorCrtl.TX_OVERFLOW) {
      kinds.push('tx-overflow');
      parts.push('controller transmit overflow');
    }
    if (crtl & (CanErrorCrtl.RX_PASSIVE | CanErrorCrtl.TX_PASSIVE)) state ??= 'error-passive';
    else if (crtl & (CanErrorCrtl.RX_WARNING | CanErrorCrtl.TX_WARNING)) state ??= 'error-warning';
    else if (crtl & CanErrorCrtl.ACTIVE) state ??= 'error-active';
    if (state && state !== 'bus-off') parts.push(state);
  }
  if (cls & CanError.PROT) {
    const kind: BusErrorKind = prot & (CanErrorProt.BIT | CanErrorProt.BIT0 | CanErrorProt.BIT1) ? 'bit' : prot & CanErrorProt.FORM ? 'form' : prot & CanErrorProt.STUFF ? 'stuff' : 'bus-error';
    // Location 0x08 (CRC sequence) or 0x18 (CRC delimiter) makes it a CRC error.
    const location = data[3] ?? 0;
    kinds.push(location === 0x08 || location === 0x18 ? 'crc' : kind);
    parts.push(`protocol error (type 0x${hex(prot)}, location 0x${hex(location)})`);
  }
  if (cls & CanError.ACK) {
    kinds.push('ack');
    parts.push('no acknowledgement');
  }
  if (cls & CanError.BUSERROR && !(cls & (CanError.PROT | CanError.ACK))) {
    kinds.push('bus-error');
    parts.push('bus error');
  }
  if (cls & CanError.TX_TIMEOUT) {
    kinds.push('other');
    parts.push('transmit timeout');
  }
  const restarted = (cls & CanError.RESTARTED) !== 0;
  if (restarted) {
    state = 'error-active';
    parts.push('restarted after bus-off');
  }
  const counters = cls & CanError.CNT ? { txErrors: data[6] ?? 0, rxErrors: data[7] ?? 0 } : {};
  return { ...(state ? { state } : {}), kinds, ...counters, restarted, description: parts.join(', ') || `error class 0x${cls.toString(16)}` };
}

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}
