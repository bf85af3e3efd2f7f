import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataFrame, remoteFrame } from '../frame';
import {
  type BtConst,
  CanError,
  CanErrorCrtl,
  CanErrorProt,
  computeBitTiming,
  decodeErrorFrame,
  decodeHostFrame,
  encodeBitTiming,
  encodeErrorFrame,
  encodeHostFrame,
  encodeMode,
  GsFeature,
  GsMode,
  parseBtConst,
  encodeBtConst,
  timingBitrate,
} from './protocol';

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
const fromHex = (text: string) => Uint8Array.from(text.split(' '), (b) => Number.parseInt(b, 16));

const BXCAN: BtConst = { features: 0, fclkCan: 48_000_000, tseg1Min: 1, tseg1Max: 16, tseg2Min: 1, tseg2Max: 8, sjwMax: 4, brpMin: 1, brpMax: 1024, brpInc: 1 };

describe('gs_usb host frames', () => {
  // Byte strings from shared/reference/can-adapters.md §2.3.
  it('encodes the reference transmit examples', () => {
    expect(hex(encodeHostFrame(dataFrame(0x123, [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]), 0))).toBe('00 00 00 00 23 01 00 00 08 00 00 00 de ad be ef 01 02 03 04');
    expect(hex(encodeHostFrame(remoteFrame(0x7df, 8), 1))).toBe('01 00 00 00 df 07 00 40 08 00 00 00 00 00 00 00 00 00 00 00');
  });

  it('decodes the reference receive example with its timestamp', () => {
    const bytes = fromHex('ff ff ff ff e5 50 ff 98 02 00 00 00 aa 55 00 00 00 00 00 00 e8 03 00 00');
    expect(decodeHostFrame(bytes, true)).toEqual({ kind: 'frame', echoId: 0xffffffff, frame: dataFrame(0x18ff50e5, [0xaa, 0x55], true), channel: 0, overflow: false, timestampUs: 1000 });
  });

  it('round-trips every classic frame', () => {
    const frame = fc.oneof(
      fc.record({ id: fc.integer({ min: 0, max: 0x7ff }), data: fc.uint8Array({ maxLength: 8 }) }).map(({ id, data }) => dataFrame(id, data)),
      fc.record({ id: fc.integer({ min: 0, max: 0x1fffffff }), data: fc.uint8Array({ maxLength: 8 }) }).map(({ id, data }) => dataFrame(id, data, true)),
      fc.record({ id: fc.integer({ min: 0, max: 0x7ff }), dlc: fc.integer({ min: 0, max: 8 }) }).map(({ id, dlc }) => remoteFrame(id, dlc)),
    );
    fc.assert(
      fc.property(frame, fc.integer({ min: 0, max: 0xfffffffe }), (f, echoId) => {
        const decoded = decodeHostFrame(encodeHostFrame(f, echoId), false);
        expect(decoded).toEqual({ kind: 'frame', echoId, frame: f, channel: 0, overflow: false });
      }),
    );
  });

  it('refuses transfers that are not a whole frame, and CAN FD lengths', () => {
    expect(decodeHostFrame(new Uint8Array(12), false)).toEqual({ kind: 'invalid', reason: 'a transfer of 12 bytes is not a whole 20-byte gs_usb frame' });
    expect(decodeHostFrame(new Uint8Array(20), true).kind).toBe('invalid');
    const fd = encodeHostFrame(dataFrame(1, [1]), 0);
    fd[8] = 12;
    expect(decodeHostFrame(fd, false)).toEqual({ kind: 'invalid', reason: 'data length code 12 is outside 0..8 (a CAN FD frame?)' });
  });

  it('reads the overflow flag', () => {
    const bytes = encodeHostFrame(dataFrame(1, [1]), 0xffffffff);
    bytes[10] = 1;
    expect(decodeHostFrame(bytes, false)).toMatchObject({ kind: 'frame', overflow: true });
  });
});

describe('gs_usb control payloads', () => {
  it('computes the reference 500 kbit/s timing for a 48 MHz bxCAN and encodes it byte for byte', () => {
    const timing = computeBitTiming(BXCAN, 500_000);
    expect(timing).toEqual({ propSeg: 1, phaseSeg1: 12, phaseSeg2: 2, sjw: 1, brp: 6 });
    expect(hex(encodeBitTiming(timing))).toBe('01 00 00 00 0c 00 00 00 02 00 00 00 01 00 00 00 06 00 00 00');
    expect(computeBitTiming(BXCAN, 125_000).brp).toBe(24);
  });

  it('hits every standard bit rate exactly, within the limits, at the recommended sample point', () => {
    for (const bitrate of [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000]) {
      const t = computeBitTiming(BXCAN, bitrate);
      expect(timingBitrate(BXCAN.fclkCan, t)).toBe(bitrate);
      const tseg1 = t.propSeg + t.phaseSeg1;
      expect(tseg1).toBeGreaterThanOrEqual(1);
      expect(tseg1).toBeLessThanOrEqual(16);
      expect(t.phaseSeg2).toBeLessThanOrEqual(8);
      const quanta = 1 + tseg1 + t.phaseSeg2;
      const sp = (1 + tseg1) / quanta;
      expect(Math.abs(sp - (bitrate > 800_000 ? 0.75 : bitrate > 500_000 ? 0.8 : 0.875))).toBeLessThan(0.03);
    }
    // An 80 MHz FDCAN clock (STM32G4 candleLight) too.
    const g4: BtConst = { ...BXCAN, fclkCan: 80_000_000, tseg1Max: 256, tseg2Max: 128, brpMax: 512 };
    expect(timingBitrate(g4.fclkCan, computeBitTiming(g4, 125_000))).toBe(125_000);
  });

  it('refuses a bit rate the clock cannot make', () => {
    expect(() => computeBitTiming({ ...BXCAN, fclkCan: 16_000_000, brpMax: 2 }, 10_000)).toThrow(/cannot make 10000 bit\/s/);
  });

  it('encodes MODE start with hardware timestamps as the reference says', () => {
    expect(hex(encodeMode(GsMode.START, GsFeature.HW_TIMESTAMP))).toBe('01 00 00 00 10 00 00 00');
  });

  it('round-trips BT_CONST', () => {
    const c = { ...BXCAN, features: GsFeature.LISTEN_ONLY | GsFeature.HW_TIMESTAMP };
    expect(parseBtConst(encodeBtConst(c))).toEqual(c);
  });
});

describe('gs_usb error frames', () => {
  it('reads controller states with their counters', () => {
    const passive = decodeErrorFrame(CanError.CRTL | CanError.CNT, Uint8Array.of(0, CanErrorCrtl.TX_PASSIVE, 0, 0, 0, 0, 130, 4));
    expect(passive).toMatchObject({ state: 'error-passive', txErrors: 130, rxErrors: 4, kinds: [], restarted: false });
    expect(decodeErrorFrame(CanError.BUSOFF, new Uint8Array(8))).toMatchObject({ state: 'bus-off', description: 'bus-off' });
    expect(decodeErrorFrame(CanError.RESTARTED, new Uint8Array(8))).toMatchObject({ state: 'error-active', restarted: true });
    expect(decodeErrorFrame(CanError.CRTL, Uint8Array.of(0, CanErrorCrtl.RX_WARNING, 0, 0, 0, 0, 0, 0)).state).toBe('error-warning');
  });

  it('reads protocol, acknowledgement and overflow errors', () => {
    expect(decodeErrorFrame(CanError.PROT | CanError.BUSERROR, Uint8Array.of(0, 0, CanErrorProt.STUFF, 0, 0, 0, 0, 0)).kinds).toEqual(['stuff']);
    expect(decodeErrorFrame(CanError.PROT | CanError.BUSERROR, Uint8Array.of(0, 0, 0, 0x08, 0, 0, 0, 0)).kinds).toEqual(['crc']);
    expect(decodeErrorFrame(CanError.ACK | CanError.BUSERROR, new Uint8Array(8))).toMatchObject({ kinds: ['ack'], description: 'no acknowledgement' });
    expect(decodeErrorFrame(CanError.CRTL, Uint8Array.of(0, CanErrorCrtl.RX_OVERFLOW, 0, 0, 0, 0, 0, 0)).kinds).toEqual(['rx-overflow']);
  });

  it('come through decodeHostFrame as errors, not frames', () => {
    const bytes = encodeErrorFrame(CanError.BUSOFF | CanError.CNT, [0, 0, 0, 0, 0, 0, 255, 0], 77);
    expect(decodeHostFrame(bytes, true)).toMatchObject({ kind: 'error', echoId: 0xffffffff, error: { state: 'bus-off', txErrors: 255 }, timestampUs: 77 });
  });
});
