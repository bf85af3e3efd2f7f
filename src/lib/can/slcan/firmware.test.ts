import { describe, expect, it } from 'vitest';
import { candidateFirmwares, decodeStatusFlags, identifyFirmware, presetCommand, SLCAN_FIRMWARES } from './firmware';
import { dataFrame } from '../frame';
import { ReplyTracker } from './replies';

describe('slcan firmware table', () => {
  it('S7 is 750k only on the stock CANable 1.0; S8 is 1M everywhere; S9 83.3k on the stock CANable 2.0', () => {
    expect(presetCommand(SLCAN_FIRMWARES['canable1-stock'], 750_000)).toBe('S7');
    expect(presetCommand(SLCAN_FIRMWARES.nakakiyo, 800_000)).toBe('S7');
    for (const firmware of Object.values(SLCAN_FIRMWARES)) expect(presetCommand(firmware, 1_000_000)).toBe('S8');
    expect(presetCommand(SLCAN_FIRMWARES['canable2-stock'], 83_333)).toBe('S9');
    expect(() => presetCommand(SLCAN_FIRMWARES.usbtin, 83_333)).toThrow('USBtin has no preset for 83333 bit/s (it offers 10k, 20k, 50k, 100k, 125k, 250k, 500k, 800k, 1000k)');
  });

  it('lists the firmwares a USB id allows', () => {
    expect(candidateFirmwares(0xad50, 0x60c4)).toEqual(['canable1-stock']);
    expect(candidateFirmwares(0x16d0, 0x117e)).toEqual(['canable2-stock', 'nakakiyo', 'elmue']);
    expect(candidateFirmwares(0x1234, 0x5678)).toEqual(['generic']);
    expect(candidateFirmwares(undefined, undefined)).toEqual(['generic']);
  });

  it('tells CANable 2.0 firmwares apart by their answer to V', () => {
    const canable2 = candidateFirmwares(0x16d0, 0x117e);
    expect(identifyFirmware(canable2, 'VL2K4')).toBe('nakakiyo');
    expect(identifyFirmware(canable2, 'b158aa7 github.com/normaldotcom/canable2-fw.git')).toBe('canable2-stock');
    expect(identifyFirmware(canable2, undefined)).toBe('canable2-stock'); // no answer at all: a firmware that answers nothing
    expect(identifyFirmware(canable2, 'V2.5 CANable 2.5 Slcan')).toBe('elmue');
    expect(identifyFirmware(['usbtin'], 'anything')).toBe('usbtin');
    expect(identifyFirmware(['generic'], 'V1013')).toBe('generic');
  });

  it('reads status flags the way each firmware means them', () => {
    expect(decodeStatusFlags(0x80, 'usbtin')).toEqual({ state: 'bus-off', rxOverflow: false, txOverflow: false, busError: false });
    expect(decodeStatusFlags(0x80, 'lawicel')).toEqual({ state: 'error-active', rxOverflow: false, txOverflow: false, busError: true });
    expect(decodeStatusFlags(0xa4, 'nakakiyo')).toEqual({ state: 'error-passive', rxOverflow: false, txOverflow: false, busError: true });
    expect(decodeStatusFlags(0x02, 'nakakiyo')).toMatchObject({ rxOverflow: true });
    expect(decodeStatusFlags(0x0c, 'lawicel')).toMatchObject({ state: 'error-warning', rxOverflow: true });
    expect(decodeStatusFlags(0x08, 'usbtin')).toMatchObject({ rxOverflow: true });
  });
});

describe('ReplyTracker', () => {
  let now = 0;
  const tracker = () => new ReplyTracker(() => now);

  it('matches replies to commands in order, BELL to the command it refused', () => {
    const t = tracker();
    const frame = dataFrame(0x204, [1]);
    t.sent({ kind: 'config', text: 'S4' });
    t.sent({ kind: 'transmit', frame });
    t.sent({ kind: 'status' });
    expect(t.reply({ kind: 'ok' })).toEqual({ kind: 'ok', command: { kind: 'config', text: 'S4' } });
    expect(t.reply({ kind: 'error' })).toEqual({ kind: 'refused', command: { kind: 'transmit', frame } });
    expect(t.reply({ kind: 'status-flags', flags: 0 })).toEqual({ kind: 'ok', command: { kind: 'status' } });
    expect(t.reply({ kind: 'error' })).toEqual({ kind: 'unmatched' });
  });

  it('settles unanswered maybes at the answer to V, however many were answered', () => {
    for (const answered of [0, 1, 2]) {
      const t = tracker();
      t.sent({ kind: 'maybe', text: '' });
      t.sent({ kind: 'maybe', text: 'C' });
      t.sent({ kind: 'sync' });
      t.sent({ kind: 'config', text: 'O' });
      for (let i = 0; i < answered; i++) expect(t.reply({ kind: 'error' })?.kind).toBe('refused');
      expect(t.reply({ kind: 'version', text: '1013' })).toEqual({ kind: 'ok', command: { kind: 'sync' } });
      expect(t.reply({ kind: 'error' })).toEqual({ kind: 'refused', command: { kind: 'config', text: 'O' } });
    }
  });

  it('gives up on commands unanswered for two seconds and starts over after a mismatch', () => {
    const t = tracker();
    now = 0;
    t.sent({ kind: 'config', text: 'S4' });
    now = 2500;
    t.sent({ kind: 'transmit', frame: dataFrame(1, []) });
    expect(t.reply({ kind: 'tx-ok' })).toMatchObject({ kind: 'ok', command: { kind: 'transmit' } });
    t.sent({ kind: 'config', text: 'O' });
    expect(t.reply({ kind: 'tx-ok' })).toEqual({ kind: 'unmatched' });
    expect(t.pending).toBe(0);
  });
});
