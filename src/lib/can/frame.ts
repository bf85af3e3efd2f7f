/** A classic CAN 2.0 frame, as every layer of the app sees it. */
export interface CanFrame {
  /** 11-bit (0..0x7FF) or, when `extended`, 29-bit identifier. */
  readonly id: number;
  readonly extended: boolean;
  /** Remote transmission request: no data travels, `dlc` still says how much is asked for. */
  readonly remote: boolean;
  /** Data length code 0..8. For data frames it equals `data.length`. */
  readonly dlc: number;
  /** Payload; empty for remote frames. */
  readonly data: Uint8Array;
}

export const MAX_STANDARD_ID = 0x7ff;
export const MAX_EXTENDED_ID = 0x1fffffff;

export class CanFrameError extends Error {
  override readonly name = 'CanFrameError';
}

/** A data frame; throws CanFrameError if the identifier or payload does not fit classic CAN. */
export function dataFrame(id: number, data: ArrayLike<number>, extended = false): CanFrame {
  const bytes = Uint8Array.from(data);
  return validated({ id, extended, remote: false, dlc: bytes.length, data: bytes });
}

/** A remote frame asking for `dlc` bytes. */
export function remoteFrame(id: number, dlc = 0, extended = false): CanFrame {
  return validated({ id, extended, remote: true, dlc, data: new Uint8Array(0) });
}

export function validated(frame: CanFrame): CanFrame {
  const max = frame.extended ? MAX_EXTENDED_ID : MAX_STANDARD_ID;
  if (!Number.isInteger(frame.id) || frame.id < 0 || frame.id > max) {
    throw new CanFrameError(`identifier ${frame.id} is outside 0..0x${max.toString(16)}`);
  }
  if (!Number.isInteger(frame.dlc) || frame.dlc < 0 || frame.dlc > 8) {
    throw new CanFrameError(`data length code ${frame.dlc} is outside 0..8`);
  }
  if (frame.remote ? frame.data.length !== 0 : frame.data.length !== frame.dlc) {
    throw new CanFrameError(
      frame.remote ? 'a remote frame carries no data' : `DLC ${frame.dlc} does not match ${frame.data.length} data bytes`,
    );
  }
  return frame;
}

/** `123#DEADBEEF` / `123#R4`: the can-utils notation, for logs and error messages. */
export function formatFrame(frame: CanFrame): string {
  const id = frame.id.toString(16).toUpperCase().padStart(frame.extended ? 8 : 3, '0');
  if (frame.remote) return `${id}#R${frame.dlc}`;
  return `${id}#${Array.from(frame.data, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join('')}`;
}
