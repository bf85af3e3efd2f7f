import { describe, expect, it } from 'vitest';
import { type CanFrame, dataFrame, remoteFrame } from '../frame';
import type { TransportEvent } from '../transport';
import { collect, runTransportContract, type TransportHarness } from '../testing/transport-contract';
import { busRig } from '../../sim/testing/bus-rig';
import {
  CANABLE1_STOCK_FLAVOUR,
  CANABLE2_STOCK_FLAVOUR,
  ELMUE_FLAVOUR,
  LAWICEL_CANUSB_FLAVOUR,
  NAKAKIYO_FLAVOUR,
  SLCAN_FLAVOURS,
  SlcanAdapterEmulator,
  type SlcanAdapterOptions,
  type SlcanFlavour,
  USBTIN_FLAVOUR,
} from '../../sim/slcan-adapter';
import { AdapterOpenError, openSlcanTransport, type SlcanOptions } from './serial-transport';

const ascii = (text: string) => new TextEncoder().encode(text);

function rig(flavour: SlcanFlavour, bitrate = 125_000, adapterOptions: SlcanAdapterOptions = {}) {
  const r = busRig(bitrate);
  const adapter = new SlcanAdapterEmulator(r.scheduler, r.bus, { flavour, ...adapterOptions });
  const open = (options: Partial<SlcanOptions> = {}) =>
    r.during(openSlcanTransport(adapter.port, { bitrate, now: r.nowMs, timers: r.timers, ...options }));
  return { ...r, adapter, open };
}

const framesOf = (events: readonly TransportEvent[]) => events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
const ofType = <T extends TransportEvent['type']>(events: readonly TransportEvent[], type: T) =>
  events.filter((e): e is Extract<TransportEvent, { type: T }> => e.type === type);

for (const flavour of SLCAN_FLAVOURS) {
  for (const packets of ['usb', { randomCutsSeed: 7 }] as const) {
    const cuts = packets === 'usb' ? '64-byte USB packets' : 'lines cut at random';
    runTransportContract(`slcan over Web Serial (${flavour.name}, ${cuts})`, async (): Promise<TransportHarness> => {
      const r = rig(flavour, 125_000, { packets });
      const transport = await r.open();
      return {
        transport,
        peerSends: (frame) => r.peer.send(frame),
        peerReceived: r.peerReceived,
        peerTransmitted: r.peerTransmitted,
        settle: r.settle,
        unplug: () => r.adapter.port.unplug(),
      };
    });
  }
}

describe('slcan over Web Serial: opening', () => {
  it.each(SLCAN_FLAVOURS.map((f) => [f.name, f] as const))('tells the firmware of %s and configures it without LF', async (_name, flavour) => {
    const r = rig(flavour, 500_000);
    const transport = await r.open();
    collect(transport);
    await r.settle();
    expect(r.adapter.mode).toBe('open');
    expect(r.adapter.bitrate).toBe(500_000);
    expect(transport.label).toContain(flavour.name);
    // LF would be kept in the command buffer of CANable firmwares and spoil the next command.
    expect(r.adapter.commandLog.some((c) => c.includes('\n'))).toBe(false);
    expect(r.adapter.commandLog).toContain('S6');
    await transport.close();
    expect(r.adapter.mode).toBe('closed');
    expect(r.adapter.port.isOpen).toBe(false);
  });

  it('maps S7 by firmware: 750k on the stock CANable 1.0, 800k on the others', async () => {
    const canable = rig(CANABLE1_STOCK_FLAVOUR, 750_000);
    const first = await canable.open();
    expect(canable.adapter.commandLog).toContain('S7');
    expect(canable.adapter.bitrate).toBe(750_000);
    await first.close();

    const nakakiyo = rig(NAKAKIYO_FLAVOUR, 800_000);
    const second = await nakakiyo.open();
    expect(nakakiyo.adapter.bitrate).toBe(800_000);
    await second.close();

    const refused = rig(NAKAKIYO_FLAVOUR, 750_000);
    await expect(refused.open()).rejects.toThrow(/has no preset for 750000 bit\/s/);
    expect(refused.adapter.port.isOpen).toBe(false);
  });

  it('opens listen-only the way each firmware does it, and the adapter then never transmits', async () => {
    for (const flavour of [USBTIN_FLAVOUR, NAKAKIYO_FLAVOUR, CANABLE1_STOCK_FLAVOUR, CANABLE2_STOCK_FLAVOUR, LAWICEL_CANUSB_FLAVOUR]) {
      const r = rig(flavour);
      const transport = await r.open({ listenOnly: true });
      const { events } = collect(transport);
      expect(r.adapter.listening, flavour.name).toBe(true);
      r.peer.send(dataFrame(0x321, [1, 2]));
      const writer = transport.toBus.getWriter();
      await writer.write(dataFrame(0x100, [1]));
      await r.settle();
      expect(framesOf(events), flavour.name).toEqual([dataFrame(0x321, [1, 2])]);
      expect(r.peerReceived, flavour.name).toEqual([]);
      if (flavour.acknowledges) {
        const refusal = ofType(events, 'bus-error').find((e) => e.kind === 'tx-refused');
        expect(refusal?.detail, flavour.name).toMatch(/refused frame 100#01 \(BELL: the channel is listen-only\)/);
      }
      writer.releaseLock();
      await transport.close();
    }
  });

  it('refuses listen-only on the Elmue firmware instead of sending it an L (its bus-load report)', async () => {
    const r = rig(ELMUE_FLAVOUR);
    await expect(r.open({ listenOnly: true })).rejects.toThrow(/cannot be opened listen-only/);
    expect(r.adapter.commandLog).not.toContain('L');
  });

  it('fails to open an unplugged adapter with a message for the user', async () => {
    const r = rig(USBTIN_FLAVOUR);
    r.adapter.port.unplug();
    await expect(r.open()).rejects.toBeInstanceOf(AdapterOpenError);
  });

  it('receives nothing when the adapter runs at another bit rate than the bus', async () => {
    const r = rig(USBTIN_FLAVOUR, 250_000);
    const transport = await r.open({ bitrate: 125_000 });
    const { events } = collect(transport);
    r.peer.send(dataFrame(0x100, [1]));
    await r.settle();
    expect(framesOf(events)).toEqual([]);
    await transport.close();
  });
});

describe('slcan over Web Serial: timestamps', () => {
  it('reads Nakakiyo µs stamps: the spacing of frames to the microsecond', async () => {
    const r = rig(NAKAKIYO_FLAVOUR, 125_000, { clockOffsetNs: 3_599_990e6 }); // the µs counter wraps 10 s in
    const transport = await r.open();
    const { events } = collect(transport);
    expect(r.adapter.timestampMode).toBe('us');
    const ends: number[] = [];
    r.peer.onTransmitted = (_f, endNs) => ends.push(endNs);
    for (let i = 0; i < 4; i++) {
      r.peer.send(dataFrame(0x100 + i, [i]));
      await r.run(7000, 500); // 7 s apart: the counter wraps between frames
    }
    const stamps = ofType(events, 'frame').map((e) => e.deviceTimeUs ?? NaN);
    expect(stamps).toHaveLength(4);
    for (let i = 1; i < 4; i++) expect(stamps[i]! - stamps[0]!).toBe(Math.floor(ends[i]! / 1e3) - Math.floor(ends[0]! / 1e3));
    await transport.close();
  });

  it('reads USBtin ms stamps across their 60 s wrap, however long the bus was quiet', async () => {
    const r = rig(USBTIN_FLAVOUR);
    const transport = await r.open();
    const { events } = collect(transport);
    expect(r.adapter.timestampMode).toBe('ms');
    const ends: number[] = [];
    r.peer.onTransmitted = (_f, endNs) => ends.push(endNs);
    for (const gapMs of [0, 45_000, 130_000, 2_000]) {
      r.scheduler.advanceBy(gapMs * 1e6);
      r.peer.send(dataFrame(0x200, [1]));
      await r.settle();
    }
    const stamps = ofType(events, 'frame').map((e) => e.deviceTimeUs ?? NaN);
    expect(stamps).toHaveLength(4);
    for (let i = 1; i < 4; i++) expect(stamps[i]! - stamps[0]!).toBe((Math.floor(ends[i]! / 1e6) - Math.floor(ends[0]! / 1e6)) * 1000);
    await transport.close();
  });

  it('leaves frames unstamped where the firmware has no clock, and turns Lawicel stamps off when asked', async () => {
    const stock = rig(CANABLE2_STOCK_FLAVOUR);
    const a = await stock.open();
    const { events } = collect(a);
    stock.peer.send(dataFrame(0x10, [1]));
    await stock.settle();
    expect(ofType(events, 'frame')[0]?.deviceTimeUs).toBeUndefined();
    await a.close();

    const lawicel = rig(LAWICEL_CANUSB_FLAVOUR);
    const b = await lawicel.open({ timestamps: false });
    expect(lawicel.adapter.commandLog).toContain('Z0');
    expect(lawicel.adapter.timestampMode).toBe('off');
    await b.close();
  });
});

describe('slcan over Web Serial: what the adapter says', () => {
  it('reports garbage bytes, over-long lines and unknown lines, and keeps every good frame', async () => {
    const r = rig(USBTIN_FLAVOUR);
    const transport = await r.open();
    const { events } = collect(transport);
    await r.settle();
    r.adapter.port.deliver(ascii('t1232AA55\r'));
    r.adapter.port.deliver(Uint8Array.of(0x00, 0xff, 0x1b));
    r.adapter.port.deliver(ascii(`T${'A'.repeat(120)}\r`));
    r.adapter.port.deliver(ascii('X123\r#1\rf: x=1\r'));
    r.adapter.port.deliver(ascii('t1231FF\r'));
    await r.settle();
    expect(framesOf(events)).toEqual([dataFrame(0x123, [0xaa, 0x55]), dataFrame(0x123, [0xff])]);
    const warnings = ofType(events, 'warning').map((w) => w.message);
    expect(warnings.filter((w) => w.includes('garbage bytes'))).toHaveLength(4); // three bytes and the long line
    expect(warnings.some((w) => w.includes('dropped'))).toBe(true);
    expect(warnings.filter((w) => w.includes('unknown line'))).toHaveLength(3);
    expect(ofType(events, 'status').at(-1)?.status).toBe('connected');
    await transport.close();
  });

  it('says which command a BELL refused, where the firmware answers', async () => {
    const r = rig(USBTIN_FLAVOUR);
    // Told it is a Nakakiyo, the driver asks for µs stamps; the USBtin has only ms stamps and refuses.
    const transport = await r.open({ firmware: 'nakakiyo' });
    const { events } = collect(transport);
    await r.settle();
    expect(ofType(events, 'warning').map((w) => w.message)).toContain('the adapter refused "Z2" (BELL)');
    // A BELL nothing was waiting for is reported as it is.
    r.adapter.port.deliver(Uint8Array.of(0x07));
    await r.settle();
    expect(ofType(events, 'warning').at(-1)?.message).toBe('the adapter refused a command (BELL)');
    await transport.close();
  });

  it('polls the status flags and reports error states and bus errors (Lawicel)', async () => {
    const r = rig(LAWICEL_CANUSB_FLAVOUR);
    const transport = await r.open({ statusPollMs: 100 });
    const { events } = collect(transport);
    await r.run(150, 10);
    expect(ofType(events, 'bus-state').at(-1)?.state).toBe('error-active');
    r.adapter.controller.receiveErrors(100, 'crc');
    await r.run(150, 10);
    expect(ofType(events, 'bus-state').at(-1)?.state).toBe('error-warning');
    expect(ofType(events, 'bus-error').some((e) => e.kind === 'bus-error')).toBe(true);
    r.adapter.controller.receiveErrors(40, 'crc');
    await r.run(150, 10);
    expect(ofType(events, 'bus-state').at(-1)?.state).toBe('error-passive');
    await transport.close();
  });

  it('reads Linux-style state and error lines', async () => {
    const r = rig(USBTIN_FLAVOUR);
    const transport = await r.open({ statusPollMs: 0 });
    const { events } = collect(transport);
    await r.settle();
    r.adapter.port.deliver(ascii('sp128033\re2ac\r'));
    await r.settle();
    expect(ofType(events, 'bus-state').at(-1)).toMatchObject({ state: 'error-passive', rxErrors: 128, txErrors: 33 });
    expect(ofType(events, 'bus-error').map((e) => e.kind)).toEqual(['ack', 'crc']);
    await transport.close();
  });
});

describe('slcan over Web Serial: bus-off', () => {
  async function carryOn(r: ReturnType<typeof rig>, events: TransportEvent[], writer: WritableStreamDefaultWriter<CanFrame>) {
    const before = r.peerReceived.length;
    await writer.write(dataFrame(0x42, [7]));
    await r.settle();
    return r.peerReceived.length - before;
  }

  it('USBtin: sees bus-off in the flags, closes and reopens the channel, and frames flow again', async () => {
    const r = rig(USBTIN_FLAVOUR);
    const transport = await r.open({ statusPollMs: 50 });
    const { events } = collect(transport);
    const writer = transport.toBus.getWriter();
    r.adapter.controller.transmitErrors(32, 'bit');
    expect(r.adapter.controller.state).toBe('bus-off');
    await r.run(300, 5);
    const states = ofType(events, 'bus-state').map((e) => e.state);
    expect(states).toContain('bus-off');
    expect(states.at(-1)).toBe('error-active');
    expect(ofType(events, 'warning').map((w) => w.message)).toContain('the adapter was bus-off: closing and reopening its channel');
    expect(r.adapter.controller.state).toBe('error-active');
    expect(await carryOn(r, events, writer)).toBe(1);
    writer.releaseLock();
    await transport.close();
  });

  it('Nakakiyo: refused transmissions point to bus-off; the driver reopens the channel', async () => {
    const r = rig(NAKAKIYO_FLAVOUR);
    const transport = await r.open({ statusPollMs: 0 });
    const { events } = collect(transport);
    const writer = transport.toBus.getWriter();
    r.adapter.controller.transmitErrors(32);
    for (let i = 0; i < 3; i++) await writer.write(dataFrame(0x100, [i]));
    await r.run(700, 5);
    expect(ofType(events, 'bus-error').filter((e) => e.kind === 'tx-refused')).toHaveLength(3);
    expect(ofType(events, 'bus-state').map((e) => e.state)).toEqual(['bus-off', 'error-active']);
    expect(await carryOn(r, events, writer)).toBe(1);
    writer.releaseLock();
    await transport.close();
  });

  it('stock CANable 1.0: the controller leaves bus-off by itself and nothing is reopened', async () => {
    const r = rig(CANABLE1_STOCK_FLAVOUR);
    const transport = await r.open();
    const { events } = collect(transport);
    const writer = transport.toBus.getWriter();
    r.adapter.controller.transmitErrors(32);
    await r.run(20); // 128 × 11 bit times at 125 kbit/s: 11.3 ms
    expect(r.adapter.controller.state).toBe('error-active');
    expect(await carryOn(r, events, writer)).toBe(1);
    expect(r.adapter.commandLog.filter((c) => c === 'O')).toHaveLength(1);
    writer.releaseLock();
    await transport.close();
  });
});

describe('slcan over Web Serial: opening again', () => {
  for (const flavour of SLCAN_FLAVOURS) {
    it(`opens ${flavour.name} again after closing it, without a warning`, async () => {
      const r = rig(flavour);
      const first = await r.open();
      await r.settle();
      await first.close();
      await r.settle();
      const second = await r.open();
      const { events } = collect(second);
      await r.settle();
      expect(ofType(events, 'warning').map((w) => w.message)).toEqual([]);
      await second.close();
    });
  }
});

describe('slcan over Web Serial: unplug and replug', () => {
  it('an unplug in the middle of a line yields no frame from it, and a replug starts clean', async () => {
    const r = rig(USBTIN_FLAVOUR);
    const first = await r.open();
    const { events, done } = collect(first);
    await r.settle();
    r.adapter.port.deliver(ascii('t1238DEADBE'));
    await r.settle();
    r.adapter.port.unplug();
    await done;
    expect(framesOf(events)).toEqual([]);
    expect(ofType(events, 'status').at(-1)).toMatchObject({ status: 'disconnected', reason: 'device-lost' });
    r.adapter.port.replug();
    const second = await r.open();
    const { events: after } = collect(second);
    r.peer.send(dataFrame(0x321, [9]));
    await r.settle();
    expect(framesOf(after)).toEqual([dataFrame(0x321, [9])]);
    expect(ofType(after, 'warning')).toEqual([]);
    await second.close();
  });

  it('an unplug while frames are being written ends the transport; nothing is corrupted on the bus', async () => {
    const r = rig(CANABLE2_STOCK_FLAVOUR);
    const transport = await r.open();
    const { done } = collect(transport);
    const writer = transport.toBus.getWriter();
    const writes = Array.from({ length: 20 }, (_, i) => writer.write(remoteFrame(0x200 + i, 8)).catch(() => 'failed'));
    r.adapter.port.unplug();
    await done;
    await Promise.all(writes);
    await r.settle();
    // Whatever made it onto the bus is whole and in order.
    expect(r.peerReceived).toEqual(r.peerReceived.map((_, i) => remoteFrame(0x200 + i, 8)));
  });
});

describe('slcan over Web Serial: a stream that ends on its own', () => {
  it('a port that keeps offering its ended stream is an adapter that stopped, not a loop', async () => {
    const r = rig(USBTIN_FLAVOUR);
    const inner = r.adapter.port;
    // The same readable, always: a port that does not say its device is gone (as Web Serial would by offering none).
    let readable: ReadableStream<Uint8Array> | null = null;
    let cut: TransformStreamDefaultController<Uint8Array> | undefined;
    const port = {
      get readable() {
        if (!readable && inner.readable) {
          const through = new TransformStream<Uint8Array, Uint8Array>({ start: (controller) => void (cut = controller) });
          void inner.readable.pipeTo(through.writable).catch(() => undefined);
          readable = through.readable;
        }
        return readable;
      },
      get writable() {
        return inner.writable;
      },
      open: (options: SerialOptions) => inner.open(options),
      close: () => inner.close(),
    };
    const transport = await r.during(openSlcanTransport(port, { bitrate: 125_000, now: r.nowMs, timers: r.timers }));
    const { events, done } = collect(transport);
    await r.settle();
    cut?.terminate();
    await done;
    expect(ofType(events, 'status').at(-1)).toMatchObject({ status: 'disconnected', reason: 'device-lost' });
  });
});
