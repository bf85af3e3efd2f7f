import { describe, expect, it } from 'vitest';
import { dataFrame, remoteFrame } from '../frame';
import { AdapterOpenError, type TransportEvent } from '../transport';
import { collect, runTransportContract, type TransportHarness } from '../testing/transport-contract';
import { busRig } from '../../sim/testing/bus-rig';
import {
  CANABLE_CANDLELIGHT_FLAVOUR,
  CANDLELIGHT_2026_FLAVOUR,
  CANDLELIGHT_LEGACY_FLAVOUR,
  GS_USB_FLAVOURS,
  GS_USB_IN_ENDPOINT,
  GsUsbAdapterEmulator,
  type GsUsbAdapterOptions,
  type GsUsbFlavour,
} from '../../sim/gs-usb-adapter';
import { GsFeature } from './protocol';
import { type GsUsbOptions, isGsUsb, openGsUsbTransport } from './transport';

function rig(flavour: GsUsbFlavour, bitrate = 125_000, adapterOptions: GsUsbAdapterOptions = {}) {
  const r = busRig(bitrate);
  const adapter = new GsUsbAdapterEmulator(r.scheduler, r.bus, { flavour, ...adapterOptions });
  const handle = () => {
    const h = adapter.usb.handle;
    if (!h) throw new Error('unplugged');
    return h;
  };
  const open = (options: Partial<GsUsbOptions> = {}) => r.during(openGsUsbTransport(handle(), { bitrate, now: r.nowMs, timers: r.timers, ...options }));
  return { ...r, adapter, handle, open };
}

/** Bus states as they changed (counter updates of the same state folded). */
const statesOf = (events: readonly TransportEvent[]) =>
  ofType(events, 'bus-state')
    .map((e) => e.state)
    .filter((state, i, all) => i === 0 || all[i - 1] !== state);
const framesOf = (events: readonly TransportEvent[]) => events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
const ofType = <T extends TransportEvent['type']>(events: readonly TransportEvent[], type: T) =>
  events.filter((e): e is Extract<TransportEvent, { type: T }> => e.type === type);

for (const flavour of GS_USB_FLAVOURS) {
  for (const hardwareTimestamps of [true, false]) {
    runTransportContract(`gs_usb over WebUSB (${flavour.name}, ${hardwareTimestamps ? 'hardware timestamps' : 'no timestamps'})`, async (): Promise<TransportHarness> => {
      const r = rig(flavour);
      const transport = await r.open({ hardwareTimestamps });
      return {
        transport,
        peerSends: (frame) => r.peer.send(frame),
        peerReceived: r.peerReceived,
        peerTransmitted: r.peerTransmitted,
        settle: r.settle,
        unplug: () => r.adapter.unplug(),
      };
    });
  }
}

describe('gs_usb over WebUSB: opening', () => {
  it('sends HOST_FORMAT, reads the device, sets the bit timing from BT_CONST and starts with the offered flags', async () => {
    const r = rig(CANDLELIGHT_2026_FLAVOUR, 500_000);
    expect(isGsUsb(r.handle())).toBe(true);
    const transport = await r.open();
    expect(r.adapter.hostFormatSet).toBe(true);
    expect(r.adapter.timing).toEqual({ propSeg: 1, phaseSeg1: 12, phaseSeg2: 2, sjw: 1, brp: 6 });
    expect(r.adapter.bitrate).toBe(500_000);
    expect(r.adapter.started).toBe(true);
    expect(r.adapter.modeFlags).toBe(GsFeature.HW_TIMESTAMP | GsFeature.BERR_REPORTING | GsFeature.BUS_OFF_RECOVERY);
    expect(transport.label).toBe('candleLight USB to CAN adapter (bytewerk), gs_usb');
    await transport.close();
    expect(r.adapter.started).toBe(false);
    expect(r.handle().opened).toBe(false);
  });

  it('asks older firmware only for what it offers', async () => {
    const r = rig(CANABLE_CANDLELIGHT_FLAVOUR);
    const transport = await r.open();
    expect(r.adapter.modeFlags).toBe(GsFeature.HW_TIMESTAMP);
    expect(transport.label).toBe('canable gs_usb (canable.io), gs_usb');
    await transport.close();
  });

  it('explains a claim refused because Linux gs_usb holds the interface', async () => {
    const r = rig(CANDLELIGHT_LEGACY_FLAVOUR, 125_000, { usb: { kernelDriverOn: [0] } });
    const failure = r.open();
    await expect(failure).rejects.toBeInstanceOf(AdapterOpenError);
    await expect(failure).rejects.toThrow(/kernel's gs_usb driver holds it/);
  });

  it('refuses a bit rate the clock cannot make, before starting the channel', async () => {
    const r = rig(CANDLELIGHT_LEGACY_FLAVOUR, 125_000);
    await expect(r.open({ bitrate: 33_333_333 })).rejects.toThrow(/cannot make/);
    expect(r.adapter.started).toBe(false);
  });

  it('listen-only: the channel never transmits, and the driver says so instead of sending', async () => {
    const r = rig(CANDLELIGHT_2026_FLAVOUR);
    const transport = await r.open({ listenOnly: true });
    const { events } = collect(transport);
    expect(r.adapter.modeFlags & GsFeature.LISTEN_ONLY).toBe(GsFeature.LISTEN_ONLY);
    const writer = transport.toBus.getWriter();
    await writer.write(dataFrame(0x10, [1]));
    r.peer.send(dataFrame(0x20, [2]));
    await r.settle();
    expect(r.peerReceived).toEqual([]);
    expect(framesOf(events)).toEqual([dataFrame(0x20, [2])]);
    expect(ofType(events, 'bus-error')[0]?.detail).toBe('frame 010#01 not sent: the channel is listen-only');
    writer.releaseLock();
    await transport.close();
  });
});

describe('gs_usb over WebUSB: frames and time', () => {
  it('stamps frames with the device clock to the microsecond, across its 2^32 µs wrap', async () => {
    const r = rig(CANDLELIGHT_2026_FLAVOUR, 125_000, { clockOffsetNs: (2 ** 32 - 3_000_000) * 1e3 });
    const transport = await r.open();
    const { events } = collect(transport);
    const ends: number[] = [];
    r.peer.onTransmitted = (_f, endNs) => ends.push(endNs);
    for (let i = 0; i < 3; i++) {
      r.peer.send(dataFrame(0x300 + i, [i]));
      await r.run(2500, 100);
    }
    const stamps = ofType(events, 'frame').map((e) => e.deviceTimeUs ?? NaN);
    expect(stamps).toHaveLength(3);
    for (let i = 1; i < 3; i++) expect(stamps[i]! - stamps[0]!).toBe(Math.floor(ends[i]! / 1e3) - Math.floor(ends[0]! / 1e3));
    await transport.close();
  });

  it('keeps at most ten frames in flight and frees them as echoes return', async () => {
    const r = rig(CANDLELIGHT_2026_FLAVOUR);
    const transport = await r.open();
    collect(transport);
    const writer = transport.toBus.getWriter();
    const frames = Array.from({ length: 40 }, (_, i) => remoteFrame(0x100 + i, 8));
    const writes = frames.map((f) => writer.write(f));
    await r.settle();
    await r.run(100, 5);
    await Promise.all(writes);
    expect(r.peerReceived).toEqual(frames);
    expect(r.adapter.stats.echoes).toBe(40);
    writer.releaseLock();
    await transport.close();
  });

  it('reports a frame whose echo never comes, and goes on', async () => {
    const r = rig(CANDLELIGHT_LEGACY_FLAVOUR);
    const transport = await r.open({ echoTimeoutMs: 50 });
    const { events } = collect(transport);
    await r.settle();
    // The device swallows one frame (as a firmware bug would): no echo for it.
    const device = r.adapter as unknown as { bulkOut(ep: number, data: Uint8Array): 'ok' };
    const original = device.bulkOut.bind(r.adapter);
    device.bulkOut = () => 'ok';
    const writer = transport.toBus.getWriter();
    await writer.write(dataFrame(0x66, [6]));
    device.bulkOut = original;
    await r.run(100, 5);
    expect(ofType(events, 'bus-error').map((e) => e.detail)).toEqual(['no echo for frame 066#06 within 50 ms']);
    await writer.write(dataFrame(0x67, [7]));
    await r.settle();
    expect(r.peerReceived).toEqual([dataFrame(0x67, [7])]);
    writer.releaseLock();
    await transport.close();
  });

  it('reports an adapter that dropped frames (overflow flag) when the host falls behind', async () => {
    const r = rig(CANDLELIGHT_2026_FLAVOUR, 1_000_000);
    const transport = await r.open();
    const { events } = collect(transport);
    for (let i = 0; i < 300; i++) r.peer.send(dataFrame(i & 0x7ff, [i & 0xff]));
    r.scheduler.advanceBy(60e6); // all 300 frames arrive before the page gets to read any
    await r.settle();
    expect(r.adapter.stats.framesOverflowed).toBeGreaterThan(0);
    expect(ofType(events, 'bus-error').some((e) => e.kind === 'rx-overflow')).toBe(true);
    expect(framesOf(events).length).toBe(300 - r.adapter.stats.framesOverflowed);
    await transport.close();
  });

  it('drops a transfer that is not a whole frame (an unplug mid-frame, a firmware bug), keeps reading', async () => {
    const r = rig(CANDLELIGHT_LEGACY_FLAVOUR);
    const transport = await r.open();
    const { events } = collect(transport);
    await r.settle();
    void r.handle().submitIn(GS_USB_IN_ENDPOINT, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x23, 0x01, 0, 0, 8, 0, 0, 0), false);
    r.peer.send(dataFrame(0x321, [3]));
    await r.settle();
    expect(framesOf(events)).toEqual([dataFrame(0x321, [3])]);
    expect(ofType(events, 'warning').map((w) => w.message)).toEqual(['unreadable input: a transfer of 12 bytes is not a whole 24-byte gs_usb frame']);
    await transport.close();
  });
});

describe('gs_usb over WebUSB: errors and bus-off', () => {
  it('turns error frames into bus states with counters, and bus errors into events', async () => {
    const r = rig(CANDLELIGHT_2026_FLAVOUR);
    const transport = await r.open({ statePollMs: 0 });
    const { events } = collect(transport);
    await r.settle();
    r.adapter.controller.transmitErrors(13, 'ack');
    await r.settle();
    expect(statesOf(events)).toEqual(['error-active', 'error-warning']);
    expect(ofType(events, 'bus-state').at(-1)).toMatchObject({ state: 'error-warning', txErrors: 104, rxErrors: 0 });
    expect(ofType(events, 'bus-error').filter((e) => e.kind === 'ack')).toHaveLength(13);
    await transport.close();
  });

  it('asks for no bus-error frames when told not to, where the firmware lets it choose', async () => {
    const r = rig(CANDLELIGHT_2026_FLAVOUR);
    const transport = await r.open({ busErrorReporting: false });
    const { events } = collect(transport);
    r.adapter.controller.receiveErrors(5, 'crc');
    await r.settle();
    expect(ofType(events, 'bus-error')).toEqual([]);
    await transport.close();
  });

  it('2026 firmware: the host recovers from bus-off (request 32) and traffic resumes', async () => {
    const r = rig(CANDLELIGHT_2026_FLAVOUR);
    const transport = await r.open({ statePollMs: 0 });
    const { events } = collect(transport);
    const writer = transport.toBus.getWriter();
    r.adapter.controller.transmitErrors(32);
    await r.settle();
    expect(r.adapter.controller.state).toBe('bus-off');
    await writer.write(dataFrame(0x11, [1])); // refused while bus-off, not queued
    await r.run(200, 5);
    expect(r.adapter.controller.state).toBe('error-active');
    expect(ofType(events, 'warning').map((w) => w.message)).toContain('the adapter is bus-off: asking it to recover');
    expect(statesOf(events)).toEqual(['error-active', 'error-warning', 'error-passive', 'bus-off', 'error-active']);
    expect(ofType(events, 'bus-error').some((e) => e.kind === 'tx-refused' && e.detail.includes('bus-off'))).toBe(true);
    await writer.write(dataFrame(0x12, [2]));
    await r.settle();
    expect(r.peerReceived).toEqual([dataFrame(0x12, [2])]);
    writer.releaseLock();
    await transport.close();
  });

  it('older firmware: the controller recovers by itself; the driver waits and carries on', async () => {
    const r = rig(CANDLELIGHT_LEGACY_FLAVOUR);
    const transport = await r.open();
    const { events } = collect(transport);
    r.adapter.controller.transmitErrors(32);
    await r.run(30, 1);
    expect(statesOf(events)).toEqual(['error-active', 'error-warning', 'error-passive', 'bus-off', 'error-active']);
    expect(ofType(events, 'warning')).toEqual([]);
    await transport.close();
  });

  it('restarts the channel itself when bus-off lasts and the firmware does not recover', async () => {
    const r = rig({ ...CANDLELIGHT_LEGACY_FLAVOUR, name: 'never recovers', busOffRecovery: 'none' });
    const transport = await r.open();
    const { events } = collect(transport);
    r.adapter.controller.transmitErrors(32);
    await r.run(1000, 20);
    expect(r.adapter.controller.state).toBe('bus-off');
    await r.run(1200, 20);
    expect(ofType(events, 'warning').map((w) => w.message)).toEqual(['the adapter stayed bus-off: restarting its channel']);
    expect(r.adapter.controller.state).toBe('error-active');
    expect(statesOf(events)).toEqual(['error-active', 'error-warning', 'error-passive', 'bus-off', 'error-active']);
    await transport.close();
  });
});

describe('gs_usb over WebUSB: unplug and replug', () => {
  it('an unplug ends the transport as lost; the replugged device is a new handle that opens cleanly', async () => {
    const r = rig(CANDLELIGHT_2026_FLAVOUR);
    const first = await r.open();
    const { events, done } = collect(first);
    const writer = first.toBus.getWriter();
    const pending = Array.from({ length: 15 }, (_, i) => writer.write(remoteFrame(0x400 + i, 8)).catch(() => 'failed'));
    r.adapter.unplug();
    await done;
    await Promise.all(pending);
    expect(ofType(events, 'status').at(-1)).toMatchObject({ status: 'disconnected', reason: 'device-lost' });
    expect(r.peerReceived).toEqual(r.peerReceived.map((_, i) => remoteFrame(0x400 + i, 8)));
    r.adapter.replug();
    const second = await r.open();
    const { events: after } = collect(second);
    r.peer.send(dataFrame(0x55, [5]));
    await r.settle();
    expect(framesOf(after)).toEqual([dataFrame(0x55, [5])]);
    await second.close();
  });
});
