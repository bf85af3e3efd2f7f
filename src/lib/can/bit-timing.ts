/**
 * Bit-level timing of classic CAN 2.0 frames (ISO 11898-1): the exact bit stream, stuff bits,
 * CRC-15, on-wire length and arbitration order. Pure functions, used by the virtual bus to keep
 * simulated timing faithful to a real bus.
 */
import { validated, type CanFrame } from './frame';

/** A bus level: 0 is dominant, 1 is recessive. */
export type Bit = 0 | 1;

/** Bits after EOF before the bus counts as idle again. */
export const INTERMISSION_BITS = 3;
/** End of frame: seven recessive bits. */
export const EOF_BITS = 7;
/** CRC delimiter, ACK slot, ACK delimiter, EOF and intermission: the fixed-form, never stuffed tail. */
const UNSTUFFED_TAIL_BITS = 1 + 1 + 1 + EOF_BITS + INTERMISSION_BITS;

const CRC15_POLYNOMIAL = 0x4599;
const CRC15_MASK = 0x7fff;
const STUFF_RUN_LENGTH = 5;

export interface OnWireBits {
  /** SOF..CRC sequence including stuff bits. */
  readonly stuffed: number;
  readonly stuffBits: number;
  /** Everything the frame occupies on the bus, up to and including the 3-bit intermission. */
  readonly total: number;
}

/** CRC-15/CAN over a bit sequence (register starts at 0, no reflection, no final xor). */
export function crc15(bits: ArrayLike<Bit>): number {
  let crc = 0;
  for (let i = 0; i < bits.length; i++) crc = crc15Step(crc, bits[i] as Bit);
  return crc;
}

/** The bit sequence SOF..CRC of a classic frame, before stuffing. */
export function frameBitStream(frame: CanFrame): Bit[] {
  const bits: Bit[] = [];
  let crc = 0;
  writeFrameBits(validated(frame), (bit) => {
    bits.push(bit);
    crc = crc15Step(crc, bit);
  });
  writeField(crc, 15, (bit) => bits.push(bit));
  return bits;
}

/**
 * Stuff bits a transmitter inserts into `bits`: after five equal bits in a row a complementary
 * bit follows, and that stuff bit starts the next run. A run of five ending the sequence still
 * gets its stuff bit, as the CRC sequence's last bits are stuffed too.
 */
export function stuffBitCount(bits: ArrayLike<Bit>): number {
  const counter = new StuffCounter();
  for (let i = 0; i < bits.length; i++) counter.push(bits[i] as Bit);
  return counter.stuffBits;
}

/** Exact length on the wire, stuff bits counted. */
export function frameOnWireBits(frame: CanFrame): OnWireBits {
  // Streams bits instead of building frameBitStream's array: the virtual bus calls this per frame.
  const counter = new StuffCounter();
  let crc = 0;
  let unstuffed = 0;
  writeFrameBits(validated(frame), (bit) => {
    counter.push(bit);
    crc = crc15Step(crc, bit);
    unstuffed++;
  });
  writeField(crc, 15, (bit) => counter.push(bit));
  unstuffed += 15;
  const stuffed = unstuffed + counter.stuffBits;
  return { stuffed, stuffBits: counter.stuffBits, total: stuffed + UNSTUFFED_TAIL_BITS };
}

/** Length without any stuff bit, intermission included: 47 + 8s (standard), 67 + 8s (extended). */
export function nominalFrameBits(frame: CanFrame): number {
  return (frame.extended ? 67 : 47) + 8 * payloadBytes(frame);
}

/**
 * Upper bound with the most stuff bits any content can cause, intermission included:
 * 55 + 10s (standard), 80 + 10s (extended); can-utils CFL_WORSTCASE, Davis et al. 2007.
 */
export function worstCaseFrameBits(frame: CanFrame): number {
  return (frame.extended ? 80 : 55) + 10 * payloadBytes(frame);
}

/** Duration of one bit in nanoseconds. */
export function bitTimeNs(bitrate: number): number {
  assertBitrate(bitrate);
  return 1e9 / bitrate;
}

/** Time the frame occupies the bus (frameOnWireBits total, so intermission included). */
export function frameDurationNs(frame: CanFrame, bitrate: number): number {
  return bitsToNs(frameOnWireBits(frame).total, bitrate);
}

/** `bits` bit times in nanoseconds, with one rounding (bits × 1e9 / bitrate), not bits × a rounded bit time. */
export function bitsToNs(bits: number, bitrate: number): number {
  assertBitrate(bitrate);
  return (bits * 1e9) / bitrate;
}

/** Throws RangeError unless `bitrate` (bit/s) is a positive finite number. */
export function assertBitrate(bitrate: number): void {
  if (!(bitrate > 0) || !Number.isFinite(bitrate)) throw new RangeError(`bitrate ${bitrate} is not a positive number`);
}

/**
 * The arbitration field as sent: standard [11 id bits, RTR, IDE=0];
 * extended [11 base id bits, SRR=1, IDE=1, 18 extension bits, RTR].
 */
export function arbitrationBits(frame: CanFrame): Bit[] {
  const bits: Bit[] = [];
  writeArbitrationField(frame, (bit) => bits.push(bit));
  return bits;
}

/**
 * Negative when `a` wins arbitration against `b` (dominant 0 wins at the first differing bit),
 * positive when `b` wins, 0 when both fields are identical.
 */
export function compareArbitration(a: CanFrame, b: CanFrame): number {
  return arbitrationKey(a) - arbitrationKey(b);
}

/**
 * The arbitration field as a 32-bit number, first bit most significant, so that numeric order is
 * arbitration order. A standard field is 13 bits long; padding it with zeros is harmless because
 * its IDE bit (0) already differs from an extended field's IDE (1) at the same position.
 */
export function arbitrationKey(frame: CanFrame): number {
  const rtr = frame.remote ? 1 : 0;
  // Multiplication instead of << keeps the value unsigned above 2^31.
  if (!frame.extended) return (frame.id & 0x7ff) * 2 ** 21 + rtr * 2 ** 20;
  const base = (frame.id >>> 18) & 0x7ff;
  const extension = frame.id & 0x3ffff;
  return base * 2 ** 21 + 2 ** 20 /* SRR */ + 2 ** 19 /* IDE */ + extension * 2 + rtr;
}

function payloadBytes(frame: CanFrame): number {
  return frame.remote ? 0 : frame.dlc;
}

function crc15Step(crc: number, bit: Bit): number {
  const feedback = ((crc >> 14) & 1) ^ bit;
  const shifted = (crc << 1) & CRC15_MASK;
  return feedback ? shifted ^ CRC15_POLYNOMIAL : shifted;
}

function writeField(value: number, width: number, emit: (bit: Bit) => void): void {
  for (let shift = width - 1; shift >= 0; shift--) emit(((value >>> shift) & 1) as Bit);
}

function writeArbitrationField(frame: CanFrame, emit: (bit: Bit) => void): void {
  const rtr: Bit = frame.remote ? 1 : 0;
  if (frame.extended) {
    writeField(frame.id >>> 18, 11, emit);
    emit(1); // SRR
    emit(1); // IDE
    writeField(frame.id & 0x3ffff, 18, emit);
    emit(rtr);
  } else {
    writeField(frame.id, 11, emit);
    emit(rtr);
    emit(0); // IDE
  }
}

/** SOF, arbitration, control and data fields: everything the CRC covers. */
function writeFrameBits(frame: CanFrame, emit: (bit: Bit) => void): void {
  emit(0); // SOF
  writeArbitrationField(frame, emit);
  if (frame.extended) {
    emit(0); // r1
    emit(0); // r0
  } else {
    emit(0); // r0 (the IDE bit was part of the arbitration field)
  }
  writeField(frame.dlc, 4, emit);
  if (!frame.remote) for (const byte of frame.data) writeField(byte, 8, emit);
}

class StuffCounter {
  stuffBits = 0;
  #last: Bit | undefined;
  #run = 0;

  push(bit: Bit): void {
    if (bit === this.#last) {
      this.#run++;
    } else {
      this.#last = bit;
      this.#run = 1;
    }
    if (this.#run === STUFF_RUN_LENGTH) {
      this.stuffBits++;
      this.#last = bit === 0 ? 1 : 0;
      this.#run = 1;
    }
  }
}
