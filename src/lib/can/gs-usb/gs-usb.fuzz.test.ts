/**
 * The gs_usb protocol under fuzzing: any transfer from the IN endpoint decodes to a frame, an
 * error frame or an 'invalid' with its reason, never an exception; control replies of any length
 * parse or throw GsUsbProtocolError; encoders and decoders are inverse; bit timing from any
 * BT_CONST a device might report stays inside its limits or throws RangeError, and terminates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validated } from '../frame';
import { canFrameArb } from '../testing/arbitraries';
import {
  type BtConst,
  computeBitTiming,
  decodeHostFrame,
  type DeviceState,
  ECHO_ID_RX,
  encodeBitTiming,
  encodeBtConst,
  encodeDeviceConfig,
  encodeDeviceState,
  encodeErrorFrame,
  encodeHostFrame,
  encodeMode,
  GsUsbProtocolError,
  HOST_FRAME_BYTES,
  HOST_FRAME_TIMESTAMP_BYTES,
  parseBitTiming,
  parseBtConst,
  parseDeviceConfig,
  parseDeviceState,
  parseMode,
} from './protocol';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const RUNS = { numRuns: 1000 };

/** Runs a control-reply parser: a value, or a GsUsbProtocolError and nothing else. */
function parsedOrRefused<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    expect(error).toBeInstanceOf(GsUsbProtocolError);
    return undefined;
  }
}

describe('gs_usb under fuzzing', () => {
  it('decodes any transfer to a valid frame, an error frame or a reason, with or without timestamps', () => {
    // Around the sizes that matter: short, exact, padded to the 32 or 64-byte packet.
    const transfer = fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: HOST_FRAME_BYTES, maxLength: HOST_FRAME_TIMESTAMP_BYTES }));
    fc.assert(
      fc.property(transfer, fc.boolean(), (bytes, timestamps) => {
        const d = decodeHostFrame(bytes, timestamps);
        if (d.kind === 'invalid') expect(d.reason.length).toBeGreaterThan(0);
        else if (d.kind === 'frame') {
          expect(validated(d.frame)).toBe(d.frame);
          expect(d.timestampUs !== undefined).toBe(timestamps);
        } else {
          expect(d.error.description.length).toBeGreaterThan(0);
          for (const n of [d.error.txErrors, d.error.rxErrors]) if (n !== undefined) expect(n).toBeGreaterThanOrEqual(0);
        }
      }),
      RUNS,
    );
  });

  it('a short transfer is invalid, never a frame read past its end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: HOST_FRAME_TIMESTAMP_BYTES - 1 }), (bytes) => {
        expect(decodeHostFrame(bytes, true).kind).toBe('invalid');
        if (bytes.length < HOST_FRAME_BYTES) expect(decodeHostFrame(bytes, false).kind).toBe('invalid');
      }),
      RUNS,
    );
  });

  it('round-trips every frame through the host frame, as an echo and as a received frame with a timestamp', () => {
    fc.assert(
      fc.property(canFrameArb, u32, u32, fc.integer({ min: 0, max: 255 }), (frame, echoId, stamp, channel) => {
        const sent = encodeHostFrame(frame, echoId, channel);
        expect(decodeHostFrame(sent, false)).toEqual({ kind: 'frame', echoId: echoId >>> 0, frame, channel, overflow: false });
        // The device's received frame: echo id 0xFFFFFFFF and its timestamp after the data.
        const received = new Uint8Array(HOST_FRAME_TIMESTAMP_BYTES);
        received.set(encodeHostFrame(frame, ECHO_ID_RX, channel));
        new DataView(received.buffer).setUint32(20, stamp, true);
        expect(decodeHostFrame(received, true)).toEqual({ kind: 'frame', echoId: ECHO_ID_RX, frame, channel, overflow: false, timestampUs: stamp });
      }),
      RUNS,
    );
  });

  it('reads every error frame as an error, never as a data frame', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x1fffffff }), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.option(u32, { nil: undefined }), (classes, data, stamp) => {
        const d = decodeHostFrame(encodeErrorFrame(classes, data, stamp), stamp !== undefined);
        expect(d.kind).toBe('error');
        if (d.kind === 'error' && stamp !== undefined) expect(d.timestampUs).toBe(stamp);
      }),
      RUNS,
    );
  });

  it('control replies of any length parse or are refused with GsUsbProtocolError; full ones round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        const c = parsedOrRefused(() => parseBtConst(bytes));
        if (c) expect(encodeBtConst(c)).toEqual(bytes.slice(0, 40));
        const t = parsedOrRefused(() => parseBitTiming(bytes));
        if (t) expect(encodeBitTiming(t)).toEqual(bytes.slice(0, 20));
        const m = parsedOrRefused(() => parseMode(bytes));
        if (m) expect(encodeMode(m.mode, m.flags)).toEqual(bytes.slice(0, 8));
        const cfg = parsedOrRefused(() => parseDeviceConfig(bytes));
        if (cfg) expect(parseDeviceConfig(encodeDeviceConfig(cfg))).toEqual(cfg);
        const s = parsedOrRefused(() => parseDeviceState(bytes));
        if (s) expect(parseDeviceState(encodeDeviceState(s))).toEqual(s);
      }),
      RUNS,
    );
    const state = fc.record({ state: fc.constantFrom('error-active', 'error-warning', 'error-passive', 'bus-off', 'stopped') as fc.Arbitrary<DeviceState['state']>, rxErrors: u32, txErrors: u32 });
    fc.assert(fc.property(state, (s) => void expect(parseDeviceState(encodeDeviceState(s))).toEqual(s)), RUNS);
  });

  it('bit timing from any BT_CONST a device reports: inside its limits, or a RangeError, always terminating', () => {
    // A lying or broken adapter must not hang the connect: the prescaler loop ends by the clock.
    const small = fc.integer({ min: 0, max: 64 });
    const btConst = fc.record({
      features: u32,
      fclkCan: fc.oneof(fc.constantFrom(8e6, 16e6, 24e6, 36e6, 48e6, 80e6), fc.integer({ min: 1, max: 200e6 })),
      tseg1Min: small,
      tseg1Max: small,
      tseg2Min: small,
      tseg2Max: small,
      sjwMax: small,
      brpMin: fc.integer({ min: 1, max: 1024 }),
      brpMax: fc.oneof(fc.integer({ min: 1, max: 1024 }), fc.constant(0xffffffff)),
      brpInc: fc.integer({ min: 0, max: 4 }),
    });
    fc.assert(
      fc.property(btConst, fc.constantFrom(10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000), (c: BtConst, bitrate) => {
        let t;
        try {
          t = computeBitTiming(c, bitrate);
        } catch (error) {
          expect(error).toBeInstanceOf(RangeError);
          return;
        }
        const tseg1 = t.propSeg + t.phaseSeg1;
        expect(tseg1).toBeGreaterThanOrEqual(c.tseg1Min);
        expect(tseg1).toBeLessThanOrEqual(c.tseg1Max);
        expect(t.phaseSeg2).toBeGreaterThanOrEqual(c.tseg2Min);
        expect(t.phaseSeg2).toBeLessThanOrEqual(c.tseg2Max);
        expect(t.brp).toBeGreaterThanOrEqual(c.brpMin);
        expect(t.brp).toBeLessThanOrEqual(c.brpMax);
        expect(Math.abs(c.fclkCan / (t.brp * (1 + tseg1 + t.phaseSeg2)) - bitrate) / bitrate).toBeLessThanOrEqual(0.001);
      }),
      { numRuns: 500 },
    );
  });
});
