import { describe, expect, it } from 'vitest';
import {
  arbitrationBits,
  bitTimeNs,
  compareArbitration,
  crc15,
  frameBitStream,
  frameDurationNs,
  frameOnWireBits,
  nominalFrameBits,
  stuffBitCount,
  worstCaseFrameBits,
  type Bit,
} from './bit-timing';
import { dataFrame, remoteFrame, type CanFrame } from './frame';
import { seededRandom } from '../sim/random';

function randomFrame(random: () => number): CanFrame {
  const extended = random() < 0.5;
  const id = Math.floor(random() * (extended ? 0x20000000 : 0x800));
  const dlc = Math.floor(random() * 9);
  if (random() < 0.25) return remoteFrame(id, dlc, extended);
  // Skewed payloads (all 0x00 / 0xFF) provoke long runs and so many stuff bits.
  const style = random();
  const data = Array.from({ length: dlc }, () =>
    style < 0.2 ? 0 : style < 0.4 ? 0xff : Math.floor(random() * 256),
  );
  return dataFrame(id, data, extended);
}

function bitsFrom(text: string): Bit[] {
  return Array.from(text.replace(/\s/g, ''), (c) => (c === '1' ? 1 : 0));
}

function bitsToText(bits: readonly Bit[]): string {
  return bits.join('');
}

function bytesToBits(bytes: ArrayLike<number>): Bit[] {
  return Array.from(bytes).flatMap((byte) => bitsFrom(byte.toString(2).padStart(8, '0')));
}

/** CRC-15 as the remainder of M(x)·x^15 divided by the generator polynomial, by long division on a BigInt. */
function crc15ByPolynomialDivision(bits: readonly Bit[]): number {
  const generator = 0xc599n; // x^15 + x^14 + x^10 + x^8 + x^7 + x^4 + x^3 + 1
  let remainder = BigInt(`0b0${bits.join('')}`) << 15n;
  for (let degree = bits.length - 1 + 15; degree >= 15; degree--) {
    if ((remainder >> BigInt(degree)) & 1n) remainder ^= generator << BigInt(degree - 15);
  }
  return Number(remainder);
}

/** Inserts stuff bits for real, to cross-check the counter. */
function stuff(bits: readonly Bit[]): Bit[] {
  const out: Bit[] = [];
  let run = 0;
  for (const bit of bits) {
    run = out.length > 0 && out[out.length - 1] === bit ? run + 1 : 1;
    out.push(bit);
    if (run === 5) {
      out.push(bit === 0 ? 1 : 0);
      run = 1;
    }
  }
  return out;
}

describe('crc15', () => {
  it('matches the published CRC-15/CAN check value (0x059E over ASCII "123456789")', () => {
    expect(crc15(bytesToBits(new TextEncoder().encode('123456789')))).toBe(0x059e);
  });

  it('agrees with polynomial long division', () => {
    const random = seededRandom(1);
    for (let i = 0; i < 200; i++) {
      const bits = Array.from({ length: 1 + Math.floor(random() * 120) }, () => (random() < 0.5 ? 0 : 1) as Bit);
      expect(crc15(bits)).toBe(crc15ByPolynomialDivision(bits));
    }
  });
});

describe('frameBitStream', () => {
  it('lays out a standard data frame field by field', () => {
    const frame = dataFrame(0x123, [0xde, 0xad, 0xbe, 0xef]);
    const head = bitsFrom(
      '0' + // SOF
        '00100100011' + // id 0x123
        '0' + // RTR
        '0' + // IDE
        '0' + // r0
        '0100' + // DLC 4
        '11011110 10101101 10111110 11101111', // DE AD BE EF
    );
    const bits = frameBitStream(frame);
    expect(bits).toHaveLength(head.length + 15);
    expect(bitsToText(bits.slice(0, head.length))).toBe(bitsToText(head));
    const crc = crc15ByPolynomialDivision(head);
    expect(bitsToText(bits.slice(head.length))).toBe(crc.toString(2).padStart(15, '0'));
  });

  it('lays out an extended data frame field by field', () => {
    const frame = dataFrame(0x18ff50e5, [0x01], true);
    const expected = bitsFrom(
      '0' + // SOF
        '11000111111' + // base id: 0x18FF50E5 >> 18 = 0x63F
        '1' + // SRR
        '1' + // IDE
        '110101000011100101' + // extension: 0x18FF50E5 & 0x3FFFF = 0x350E5
        '0' + // RTR
        '00' + // r1, r0
        '0001' + // DLC 1
        '00000001',
    );
    const bits = frameBitStream(frame);
    expect(bitsToText(bits.slice(0, expected.length))).toBe(bitsToText(expected));
    expect(bits).toHaveLength(expected.length + 15);
    expect(bitsToText(bits.slice(expected.length))).toBe(
      crc15ByPolynomialDivision(expected).toString(2).padStart(15, '0'),
    );
  });

  it('sends no data field for a remote frame, whatever its DLC', () => {
    const bits = frameBitStream(remoteFrame(0x7ff, 8));
    const head = bitsFrom('0' + '11111111111' + '1' + '0' + '0' + '1000');
    expect(bits).toHaveLength(head.length + 15);
    expect(bitsToText(bits.slice(0, head.length))).toBe(bitsToText(head));
  });

  it('has the unstuffed length of the nominal formula minus the 13 fixed tail bits', () => {
    const random = seededRandom(2);
    for (let i = 0; i < 300; i++) {
      const frame = randomFrame(random);
      expect(frameBitStream(frame)).toHaveLength(nominalFrameBits(frame) - 13);
    }
  });
});

describe('stuffBitCount', () => {
  it.each([
    ['0000', 0],
    ['00000', 1],
    ['000001111', 2], // the stuff bit (1) opens the next run of ones
    ['000001110', 1], // stuff bit + three ones: a run of four
    ['1111111111', 2],
    ['00000000000000000000', 4],
    ['0101010101', 0],
    ['000011110000', 0],
  ])('%s → %i', (text, expected) => {
    expect(stuffBitCount(bitsFrom(text))).toBe(expected);
  });

  it('counts what an explicit stuffer inserts, and the result never has six equal bits in a row', () => {
    const random = seededRandom(3);
    for (let i = 0; i < 300; i++) {
      const bits = frameBitStream(randomFrame(random));
      const stuffed = stuff(bits);
      expect(stuffed.length - bits.length).toBe(stuffBitCount(bits));
      expect(bitsToText(stuffed)).not.toMatch(/000000|111111/);
    }
  });
});

describe('frameOnWireBits', () => {
  it('an all-zero standard frame (id 0, DLC 0, CRC 0) needs a stuff bit after every five bits', () => {
    const frame = dataFrame(0, []);
    expect(frameBitStream(frame)).toEqual(new Array(34).fill(0));
    // 34 zeros: a stuff bit after zeros 5, 10, …, 30.
    expect(frameOnWireBits(frame)).toEqual({ stuffed: 40, stuffBits: 6, total: 53 });
    expect(frameDurationNs(frame, 1_000_000)).toBe(53_000);
    expect(frameDurationNs(frame, 125_000)).toBe(53 * 8000);
  });

  it('all-zero id and payload produce many stuff bits', () => {
    const frame = dataFrame(0, new Array(8).fill(0));
    const { stuffBits, total } = frameOnWireBits(frame);
    expect(stuffBits).toBe(stuffBitCount(frameBitStream(frame)));
    expect(stuffBits).toBeGreaterThanOrEqual(16); // ≥ one per 5 bits over the zero stretch
    expect(total).toBe(nominalFrameBits(frame) + stuffBits);
  });

  it('total = stuffed + 13 and stuffed = unstuffed + stuff bits', () => {
    const random = seededRandom(4);
    for (let i = 0; i < 300; i++) {
      const frame = randomFrame(random);
      const bits = frameBitStream(frame);
      const wire = frameOnWireBits(frame);
      expect(wire.stuffBits).toBe(stuffBitCount(bits));
      expect(wire.stuffed).toBe(bits.length + wire.stuffBits);
      expect(wire.total).toBe(wire.stuffed + 13);
    }
  });

  it('property: nominal ≤ total ≤ worst case for random standard/extended, data/remote frames', () => {
    const random = seededRandom(5);
    let sawStuffing = false;
    for (let i = 0; i < 5000; i++) {
      const frame = randomFrame(random);
      const { total, stuffBits } = frameOnWireBits(frame);
      if (stuffBits > 0) sawStuffing = true;
      expect(total).toBeGreaterThanOrEqual(nominalFrameBits(frame));
      expect(total).toBeLessThanOrEqual(worstCaseFrameBits(frame));
    }
    expect(sawStuffing).toBe(true);
  });

  it('rejects frames that do not fit classic CAN', () => {
    expect(() => frameOnWireBits({ id: 0x800, extended: false, remote: false, dlc: 0, data: new Uint8Array() })).toThrow(
      /identifier/,
    );
  });
});

describe('nominal and worst-case lengths', () => {
  it('match the reference table', () => {
    expect(nominalFrameBits(dataFrame(0x100, new Array(8).fill(0)))).toBe(111);
    expect(worstCaseFrameBits(dataFrame(0x100, new Array(8).fill(0)))).toBe(135);
    expect(nominalFrameBits(remoteFrame(0x100, 8))).toBe(47);
    expect(worstCaseFrameBits(remoteFrame(0x100, 8))).toBe(55);
    expect(worstCaseFrameBits(dataFrame(0x100, new Array(8).fill(0), true))).toBe(160);
    expect(nominalFrameBits(dataFrame(0x100, new Array(8).fill(0), true))).toBe(131);
  });

  it('worst case equals Davis et al.: g + 8s + 13 + ⌊(g + 8s − 1)/4⌋, i.e. 55 + 10s / 80 + 10s', () => {
    for (let s = 0; s <= 8; s++) {
      const data = new Array<number>(s).fill(0);
      for (const [extended, g, formula] of [
        [false, 34, 55 + 10 * s],
        [true, 54, 80 + 10 * s],
      ] as const) {
        const davis = g + 8 * s + 13 + Math.floor((g + 8 * s - 1) / 4);
        expect(worstCaseFrameBits(dataFrame(1, data, extended))).toBe(formula);
        expect(formula).toBe(davis);
        expect(nominalFrameBits(dataFrame(1, data, extended))).toBe((extended ? 67 : 47) + 8 * s);
      }
    }
  });
});

describe('bit time', () => {
  it('is 1e9 / bitrate nanoseconds', () => {
    expect(bitTimeNs(125_000)).toBe(8000);
    expect(bitTimeNs(500_000)).toBe(2000);
    expect(bitTimeNs(1_000_000)).toBe(1000);
    expect(() => bitTimeNs(0)).toThrow(RangeError);
  });
});

describe('arbitration', () => {
  it('lays out the standard and extended arbitration fields', () => {
    expect(bitsToText(arbitrationBits(dataFrame(0x123, [])))).toBe('00100100011' + '0' + '0');
    expect(bitsToText(arbitrationBits(remoteFrame(0x123)))).toBe('00100100011' + '1' + '0');
    const id = (0x123 << 18) | 0x2abcd;
    expect(bitsToText(arbitrationBits(dataFrame(id, [], true)))).toBe(
      '00100100011' + '1' + '1' + (0x2abcd).toString(2).padStart(18, '0') + '0',
    );
  });

  it('lower identifier wins', () => {
    expect(compareArbitration(dataFrame(0x100, []), dataFrame(0x101, []))).toBeLessThan(0);
    expect(compareArbitration(dataFrame(0x101, []), dataFrame(0x100, []))).toBeGreaterThan(0);
    expect(compareArbitration(dataFrame(0x1000, [], true), dataFrame(0x1001, [], true))).toBeLessThan(0);
  });

  it('a data frame beats a remote frame with the same identifier', () => {
    expect(compareArbitration(dataFrame(0x100, [1]), remoteFrame(0x100, 1))).toBeLessThan(0);
    expect(compareArbitration(dataFrame(0x100, [1], true), remoteFrame(0x100, 1, true))).toBeLessThan(0);
  });

  it('a standard frame beats an extended one with the same base identifier, data or remote', () => {
    const extended = dataFrame(0x100 << 18, [], true);
    expect(compareArbitration(dataFrame(0x100, []), extended)).toBeLessThan(0);
    expect(compareArbitration(remoteFrame(0x100), extended)).toBeLessThan(0);
    expect(compareArbitration(extended, remoteFrame(0x100))).toBeGreaterThan(0);
  });

  it('an extended frame with a lower base identifier beats a standard frame', () => {
    expect(compareArbitration(dataFrame((0x0ff << 18) | 0x3ffff, [], true), dataFrame(0x100, []))).toBeLessThan(0);
  });

  it('identical arbitration fields compare equal whatever the payload', () => {
    expect(compareArbitration(dataFrame(0x100, [1]), dataFrame(0x100, [2, 3]))).toBe(0);
  });

  it('agrees with a bit-by-bit comparison of the arbitration fields', () => {
    const random = seededRandom(6);
    const bitwise = (a: CanFrame, b: CanFrame): number => {
      const x = arbitrationBits(a);
      const y = arbitrationBits(b);
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
      }
      return 0;
    };
    for (let i = 0; i < 2000; i++) {
      const a = randomFrame(random);
      // Often share the base identifier so SRR/IDE/RTR decide.
      const b = random() < 0.5 ? randomFrame(random) : sameBase(a, random);
      expect(Math.sign(compareArbitration(a, b))).toBe(Math.sign(bitwise(a, b)));
    }
  });
});

function sameBase(frame: CanFrame, random: () => number): CanFrame {
  const base = frame.extended ? frame.id >>> 18 : frame.id;
  const extended = random() < 0.5;
  const id = extended ? (base << 18) | Math.floor(random() * 0x40000) : base;
  return random() < 0.5 ? remoteFrame(id, 0, extended) : dataFrame(id, [], extended);
}
