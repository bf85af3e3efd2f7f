/**
 * Adapter drivers: how many frames per second each decodes (the codec alone, and the whole driver
 * reading from a device that has the bytes ready), and whether a 1 Mbit/s bus, full to the last
 * bit, loses any frame between the emulated adapter and the app, in real time on this machine.
 */
import { dataFrame, type CanFrame } from '../src/lib/can/frame';
import { decodeHostFrame, encodeBtConst, encodeDeviceConfig, encodeHostFrame, GsFeature, GsRequest } from '../src/lib/can/gs-usb/protocol';
import { openGsUsbTransport } from '../src/lib/can/gs-usb/transport';
import { encodeFrame, slcanDecoderStream } from '../src/lib/can/slcan/codec';
import { openSlcanTransport, type SerialPortLike } from '../src/lib/can/slcan/serial-transport';
import type { CanTransport } from '../src/lib/can/transport';
import { CdcAcmSerialPort } from '../src/lib/can/usb/cdc-acm';
import type { UsbDeviceLike, UsbInResult } from '../src/lib/can/usb/webusb';
import { GsUsbAdapterEmulator, CANDLELIGHT_2026_FLAVOUR } from '../src/lib/sim/gs-usb-adapter';
import { RealTimePacer, EventScheduler } from '../src/lib/sim/scheduler';
import { NAKAKIYO_FLAVOUR, SlcanAdapterEmulator } from '../src/lib/sim/slcan-adapter';
import { VirtualCanBus } from '../src/lib/sim/virtual-bus';
import { BusMonitor } from '../src/lib/can/monitor/bus-monitor';
import { canId, FunctionCode } from '../src/lib/meter/ids';
import { encodeSnapshot } from '../src/lib/meter/records';
import { sealFrames } from '../src/lib/meter/secure';
import type { Figures } from './figures';

const FRAMES = 200_000;

function sampleFrame(i: number): CanFrame {
  return dataFrame(0x200 + (i % 0x100), [i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, 0x55, 0xaa, 0x0d, 0x0a, 0x07]);
}

/** slcan text of `count` frames with µs stamps, cut into 1 KiB chunks as USB hands them over. */
function slcanChunks(count: number): Uint8Array[] {
  const encoder = new TextEncoder();
  let text = '';
  for (let i = 0; i < count; i++) text += `${encodeFrame(sampleFrame(i)).slice(0, -1)}${(i * 111).toString(16).toUpperCase().padStart(8, '0')}\r`;
  const bytes = encoder.encode(text);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += 1024) chunks.push(bytes.slice(offset, offset + 1024));
  return chunks;
}

async function countFrames(transport: CanTransport, count: number): Promise<void> {
  let frames = 0;
  for await (const event of transport.fromBus) {
    if (event.type === 'frame' && ++frames === count) break;
  }
}

/** A serial port whose device has every byte ready at once. */
export function readyPort(chunks: Uint8Array[]): SerialPortLike {
  let readable: ReadableStream<Uint8Array> | null = null;
  let writable: WritableStream<Uint8Array> | null = null;
  return {
    get readable() {
      return readable;
    },
    get writable() {
      return writable;
    },
    getInfo: () => ({ usbVendorId: 0x04d8, usbProductId: 0x000a }),
    async open() {
      let index = 0;
      readable = new ReadableStream({
        pull(controller) {
          const chunk = chunks[index++];
          if (chunk) controller.enqueue(chunk);
        },
      });
      writable = new WritableStream();
    },
    async close() {
      readable = null;
      writable = null;
    },
  };
}

/** A CDC-ACM device whose bulk IN endpoint has every byte ready. */
export function readyCdcDevice(chunks: Uint8Array[]): UsbDeviceLike {
  let index = 0;
  const pending: ((error: unknown) => void)[] = [];
  const ok = { status: 'ok' as const, bytesWritten: 0 };
  const alternate = (interfaceClass: number, endpoints: UsbDeviceLike['configurations'][number]['interfaces'][number]['alternate']['endpoints']) => ({
    alternateSetting: 0,
    interfaceClass,
    interfaceSubclass: interfaceClass === 2 ? 2 : 0,
    interfaceProtocol: 0,
    endpoints,
  });
  const configuration = {
    configurationValue: 1,
    interfaces: [
      { interfaceNumber: 0, alternate: alternate(2, []), alternates: [], claimed: true },
      {
        interfaceNumber: 1,
        alternate: alternate(10, [
          { endpointNumber: 1, direction: 'in' as const, type: 'bulk' as const, packetSize: 64 },
          { endpointNumber: 1, direction: 'out' as const, type: 'bulk' as const, packetSize: 64 },
        ]),
        alternates: [],
        claimed: true,
      },
    ],
  };
  return {
    vendorId: 0x04d8,
    productId: 0x000a,
    opened: true,
    configuration,
    configurations: [configuration],
    open: async () => undefined,
    close: async () => undefined,
    selectConfiguration: async () => undefined,
    claimInterface: async () => undefined,
    releaseInterface: async () => {
      for (const reject of pending.splice(0)) reject(new DOMException('The transfer was cancelled.', 'AbortError'));
    },
    controlTransferIn: async () => ({ status: 'ok' }),
    controlTransferOut: async () => ok,
    transferIn: async (): Promise<UsbInResult> => {
      const chunk = chunks[index++];
      if (!chunk) return new Promise<UsbInResult>((_resolve, reject) => pending.push(reject));
      return { status: 'ok', data: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength) };
    },
    transferOut: async () => ok,
    clearHalt: async () => undefined,
  };
}

/** A candleLight whose bulk IN endpoint has every frame ready (stamped), for the driver alone. */
export function readyGsDevice(frames: Uint8Array[]): UsbDeviceLike {
  let index = 0;
  const pending: ((error: unknown) => void)[] = [];
  const ok = { status: 'ok' as const, bytesWritten: 0 };
  const configuration = {
    configurationValue: 1,
    interfaces: [
      {
        interfaceNumber: 0,
        alternate: {
          alternateSetting: 0,
          interfaceClass: 0xff,
          interfaceSubclass: 0xff,
          interfaceProtocol: 0xff,
          endpoints: [
            { endpointNumber: 1, direction: 'in' as const, type: 'bulk' as const, packetSize: 32 },
            { endpointNumber: 2, direction: 'out' as const, type: 'bulk' as const, packetSize: 32 },
          ],
        },
        alternates: [],
        claimed: true,
      },
    ],
  };
  const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    vendorId: 0x1d50,
    productId: 0x606f,
    opened: true,
    configuration,
    configurations: [configuration],
    open: async () => undefined,
    close: async () => undefined,
    selectConfiguration: async () => undefined,
    claimInterface: async () => undefined,
    releaseInterface: async () => {
      for (const reject of pending.splice(0)) reject(new DOMException('The transfer was cancelled.', 'AbortError'));
    },
    controlTransferIn: async (setup) => {
      if (setup.request === GsRequest.BT_CONST) return { status: 'ok', data: view(encodeBtConst({ ...CANDLELIGHT_2026_FLAVOUR.btConst })) };
      if (setup.request === GsRequest.DEVICE_CONFIG) return { status: 'ok', data: view(encodeDeviceConfig({ icount: 0, swVersion: 2, hwVersion: 1 })) };
      return { status: 'stall' };
    },
    controlTransferOut: async () => ok,
    transferIn: async (): Promise<UsbInResult> => {
      const frame = frames[index++];
      if (!frame) return new Promise<UsbInResult>((_resolve, reject) => pending.push(reject));
      return { status: 'ok', data: view(frame) };
    },
    transferOut: async () => ok,
    clearHalt: async () => undefined,
  };
}

async function timed(run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

export async function benchDriverDecoding(figures: Figures): Promise<void> {
  const chunks = slcanChunks(FRAMES);

  // The slcan codec alone: bytes in, frames out.
  const codecSeconds = await timed(async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(c);
        controller.close();
      },
    }).pipeThrough(slcanDecoderStream());
    let frames = 0;
    for await (const m of stream) if (m.kind === 'frame') frames++;
    if (frames !== FRAMES) throw new Error(`slcan codec decoded ${frames} of ${FRAMES}`);
  });
  figures.add('drivers', 'slcan_codec_frames_per_s', FRAMES / codecSeconds, 'frames/s', '> 9009 (a full 1 Mbit/s bus)', '8-byte frames with µs stamps, 1 KiB chunks');

  const serialSeconds = await timed(async () => {
    const transport = await openSlcanTransport(readyPort(chunks), { bitrate: 1_000_000, firmware: 'nakakiyo', statusPollMs: 0 });
    await countFrames(transport, FRAMES);
    await transport.close();
  });
  figures.add('drivers', 'slcan_web_serial_frames_per_s', FRAMES / serialSeconds, 'frames/s', '> 9009', 'whole driver: port stream → tokenizer → events, device with every byte ready');

  const cdcSeconds = await timed(async () => {
    const transport = await openSlcanTransport(new CdcAcmSerialPort(readyCdcDevice(chunks)), { bitrate: 1_000_000, firmware: 'nakakiyo', statusPollMs: 0 });
    await countFrames(transport, FRAMES);
    await transport.close();
  });
  figures.add('drivers', 'slcan_webusb_cdc_frames_per_s', FRAMES / cdcSeconds, 'frames/s', '> 9009', 'whole driver over the CDC-ACM port: one transferIn per 1 KiB');

  // gs_usb: the host frame codec, then the driver reading frames as fast as the device can hand them over.
  const hostFrames = Array.from({ length: FRAMES }, (_, i) => {
    const bytes = new Uint8Array(24);
    bytes.set(encodeHostFrame(sampleFrame(i), 0xffffffff));
    new DataView(bytes.buffer).setUint32(20, i * 111, true);
    return bytes;
  });
  const gsCodecSeconds = await timed(async () => {
    let frames = 0;
    for (const bytes of hostFrames) if (decodeHostFrame(bytes, true).kind === 'frame') frames++;
    if (frames !== FRAMES) throw new Error(`gs_usb codec decoded ${frames}`);
  });
  figures.add('drivers', 'gs_usb_codec_frames_per_s', FRAMES / gsCodecSeconds, 'frames/s', '> 9009', '24-byte host frames with hardware timestamps');

  const gsSeconds = await timed(async () => {
    const transport = await openGsUsbTransport(readyGsDevice(hostFrames), { bitrate: 1_000_000, statePollMs: 0 });
    await countFrames(transport, FRAMES);
    await transport.close();
  });
  figures.add('drivers', 'gs_usb_webusb_frames_per_s', FRAMES / gsSeconds, 'frames/s', '> 9009', 'whole driver, 64 IN transfers outstanding, one frame per transfer, device with every frame ready');
}

/** The bus monitor's cost per frame: ring, load window and protocol decoding of Wattwall traffic. */
export function benchMonitor(figures: Figures): void {
  const snapshot = { timeS: 1, timeCs: 0, flags: 1, vrms: 23_000, irms: 1000, p: 230_000, n: 0, pf: 10_000, f: 50_000, thdV: 100, thdI: 200 };
  const message = sealFrames(new Uint8Array(32), canId(FunctionCode.SNAPSHOT, 7), encodeSnapshot(snapshot), 1);
  const monitor = new BusMonitor({ bitrate: 1_000_000, now: () => 0 });
  const start = performance.now();
  for (let i = 0; i < FRAMES; i++) {
    monitor.observe({ type: 'frame', frame: message[i % message.length] as CanFrame, receivedAt: i * 0.111 });
  }
  const seconds = (performance.now() - start) / 1000;
  if (monitor.stats(0).rxFrames !== FRAMES) throw new Error('the monitor missed frames');
  figures.add('drivers', 'bus_monitor_frames_per_s', FRAMES / seconds, 'frames/s', '> 9009', 'SNAPSHOT traffic, decoded and reassembled, into the 20 000-entry ring');
}

type Kind = 'slcan-serial' | 'slcan-usb' | 'gs-usb';

interface LoadResult {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly adapterDropped: number;
  readonly busLoad: number;
  /** Virtual seconds the simulation managed per wall-clock second (1 = it kept up). */
  readonly realTime: number;
}

/**
 * A peer that never lets a 1 Mbit/s bus rest (8-byte frames carrying a sequence number), the
 * adapter, the driver and a reader, all in this thread, paced by the wall clock as the demo bus
 * is in a tab. Lost frames are the gaps in the sequence the reader saw.
 */
export async function fullLoad(kind: Kind, seconds: number): Promise<LoadResult> {
  const scheduler = new EventScheduler();
  const bus = new VirtualCanBus(scheduler, { bitrate: 1_000_000 });
  const slcan = kind === 'gs-usb' ? undefined : new SlcanAdapterEmulator(scheduler, bus, { flavour: NAKAKIYO_FLAVOUR });
  const gs = kind === 'gs-usb' ? new GsUsbAdapterEmulator(scheduler, bus, { flavour: CANDLELIGHT_2026_FLAVOUR }) : undefined;
  const peer = bus.attach('flood');
  const pacer = new RealTimePacer(scheduler, { speed: 1, tickMs: 1 });
  pacer.start();
  let transport: CanTransport;
  if (slcan && kind === 'slcan-serial') transport = await openSlcanTransport(slcan.port, { bitrate: 1_000_000, statusPollMs: 0 });
  else if (slcan) transport = await openSlcanTransport(new CdcAcmSerialPort(slcan.usb.handle as UsbDeviceLike), { bitrate: 1_000_000, statusPollMs: 0 });
  else transport = await openGsUsbTransport(gs?.usb.handle as UsbDeviceLike, { bitrate: 1_000_000, statePollMs: 0 });

  const seen: number[] = [];
  const reading = (async () => {
    for await (const event of transport.fromBus) {
      if (event.type === 'frame' && event.frame.id === 0x300) {
        const d = event.frame.data;
        seen.push(((d[0] ?? 0) | ((d[1] ?? 0) << 8) | ((d[2] ?? 0) << 16)) + (d[3] ?? 0) * 2 ** 24);
      }
    }
  })();

  let seq = 0;
  let sent = 0;
  const feed = () => {
    while (peer.queued < 4) {
      const n = seq++;
      peer.send(dataFrame(0x300, [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, Math.floor(n / 2 ** 24) & 0xff, 0, 0, 0, 0]));
    }
  };
  peer.onTransmitted = () => {
    sent++;
    feed();
  };
  bus.resetStats();
  const wallStart = performance.now();
  const virtualStart = scheduler.now;
  feed();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  peer.onTransmitted = () => void sent++;
  const realTime = (scheduler.now - virtualStart) / 1e6 / (performance.now() - wallStart);
  const busLoad = bus.stats().load;
  await new Promise((resolve) => setTimeout(resolve, 500)); // drain
  pacer.stop();
  await transport.close();
  await reading;
  const received = new Set(seen).size;
  const adapterDropped = slcan ? slcan.stats.framesOverflowed : (gs?.stats.framesOverflowed ?? 0);
  return { sent, received, lost: sent - received, adapterDropped, busLoad, realTime };
}

export async function benchFullLoad(figures: Figures): Promise<void> {
  for (const kind of ['slcan-serial', 'slcan-usb', 'gs-usb'] as const) {
    const name = kind.replace('-', '_');
    const r = await fullLoad(kind, 3);
    figures.add('drivers', `full_load_1M_${name}_frames_sent`, r.sent, 'frames', '', `3 s of a 1 Mbit/s bus at ${(r.busLoad * 100).toFixed(1)} % load, 8-byte frames`);
    figures.add('drivers', `full_load_1M_${name}_frames_lost`, r.lost, 'frames', '0', `adapter buffer overflows: ${r.adapterDropped}; simulation ran at ${r.realTime.toFixed(2)}× real time`);
    figures.add('drivers', `full_load_1M_${name}_real_time`, r.realTime, 'ratio', '1', 'virtual seconds simulated per wall-clock second while flooded (below 1: this machine could not run the flood in real time)');
  }
}
