import { describe, expect, it } from 'vitest';
import { dataFrame } from '../frame';
import type { TransportEvent } from '../transport';
import { AdapterOpenError, openSlcanTransport } from '../slcan/serial-transport';
import { collect, runTransportContract, type TransportHarness } from '../testing/transport-contract';
import { busRig } from '../../sim/testing/bus-rig';
import { CDC_DATA_ENDPOINT } from '../../sim/cdc-acm-function';
import {
  CANABLE1_STOCK_FLAVOUR,
  CANABLE2_STOCK_FLAVOUR,
  NAKAKIYO_FLAVOUR,
  SlcanAdapterEmulator,
  type SlcanAdapterOptions,
  type SlcanFlavour,
  USBTIN_FLAVOUR,
} from '../../sim/slcan-adapter';
import { CdcAcmSerialPort, isCdcAcm } from './cdc-acm';
import { type EmulatedUsbDevice, UsbDeviceEmulator, usbInterface } from '../../sim/emulated-usb-device';

function rig(flavour: SlcanFlavour, options: SlcanAdapterOptions = {}) {
  const r = busRig(125_000);
  const adapter = new SlcanAdapterEmulator(r.scheduler, r.bus, { flavour, ...options });
  const handle = () => {
    const h = adapter.usb.handle;
    if (!h) throw new Error('unplugged');
    return h;
  };
  const open = (device: EmulatedUsbDevice = handle()) =>
    r.during(openSlcanTransport(new CdcAcmSerialPort(device), { bitrate: 125_000, now: r.nowMs, timers: r.timers }));
  return { ...r, adapter, handle, open };
}

const framesOf = (events: readonly TransportEvent[]) => events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));

for (const flavour of [CANABLE1_STOCK_FLAVOUR, CANABLE2_STOCK_FLAVOUR, NAKAKIYO_FLAVOUR, USBTIN_FLAVOUR]) {
  runTransportContract(`slcan over WebUSB CDC-ACM (${flavour.name})`, async (): Promise<TransportHarness> => {
    const r = rig(flavour);
    const transport = await r.open();
    return {
      transport,
      peerSends: (frame) => r.peer.send(frame),
      peerReceived: r.peerReceived,
      peerTransmitted: r.peerTransmitted,
      settle: r.settle,
      unplug: () => r.adapter.usb.unplug(),
    };
  });
}

describe('CDC-ACM over WebUSB', () => {
  it('finds the data interface, claims both, sets 8N1 and raises DTR and RTS; releases them on close', async () => {
    const r = rig(NAKAKIYO_FLAVOUR);
    expect(isCdcAcm(r.handle())).toBe(true);
    const transport = await r.open();
    const cdc = r.adapter.usb.function as unknown as { lineCoding: Uint8Array; controlLines: number };
    expect(Array.from(cdc.lineCoding)).toEqual([0x00, 0xc2, 0x01, 0x00, 0, 0, 8]);
    expect(cdc.controlLines).toBe(3);
    expect(r.handle().configuration?.interfaces.every((i) => i.claimed)).toBe(true);
    expect(transport.label).toBe('CANable 2.0 Nakakiyo slcan');
    await transport.close();
    expect(r.handle().opened).toBe(false);
    expect(r.adapter.mode).toBe('closed');
  });

  it('explains when the operating system holds the interface (Linux cdc_acm, Windows usbser)', async () => {
    const r = rig(USBTIN_FLAVOUR, { usb: { kernelDriverOn: [0, 1] } });
    const failure = r.open();
    await expect(failure).rejects.toBeInstanceOf(AdapterOpenError);
    await expect(failure).rejects.toThrow(/operating system's serial driver holds it.*Android/);
    r.adapter.usb.detachKernelDrivers();
    const transport = await r.open();
    await transport.close();
  });

  it('refuses a USB device that is not a serial adapter', async () => {
    const r = busRig();
    // A vendor-class device (a gs_usb adapter, say): the CDC driver must not touch it.
    const vendorOnly = new UsbDeviceEmulator({ vendorId: 0x1d50, productId: 0x606f }, {
      configuration: { configurationValue: 1, interfaces: [usbInterface(0, { interfaceClass: 0xff, interfaceSubclass: 0xff, interfaceProtocol: 0xff }, [])] },
      control: () => ({ status: 'stall' }),
      bulkOut: () => 'stall',
      interfaceClaimed: () => undefined,
      powerLost: () => undefined,
      attached: () => undefined,
    });
    const device = vendorOnly.handle as EmulatedUsbDevice;
    expect(isCdcAcm(device)).toBe(false);
    await expect(r.during(openSlcanTransport(new CdcAcmSerialPort(device), { bitrate: 125_000, timers: r.timers }))).rejects.toThrow(/not a CDC-ACM serial adapter/);
  });

  it('clears a halted IN endpoint and reads on', async () => {
    const r = rig(USBTIN_FLAVOUR);
    const transport = await r.open();
    const { events } = collect(transport);
    await r.settle();
    r.handle().stallIn(CDC_DATA_ENDPOINT);
    r.peer.send(dataFrame(0x55, [5]));
    await r.settle();
    expect(framesOf(events)).toEqual([dataFrame(0x55, [5])]);
    await transport.close();
  });

  it('after a replug the old handle is dead; the new one opens and frames flow', async () => {
    const r = rig(CANABLE2_STOCK_FLAVOUR);
    const stale = r.handle();
    const first = await r.open();
    const { events, done } = collect(first);
    await r.settle();
    r.adapter.usb.unplug();
    await done;
    expect(events.filter((e) => e.type === 'status').at(-1)).toMatchObject({ status: 'disconnected', reason: 'device-lost' });
    r.adapter.usb.replug();
    await expect(r.open(stale)).rejects.toThrow(/went away|disconnected/);
    const second = await r.open();
    const { events: after } = collect(second);
    r.peer.send(dataFrame(0x77, [7]));
    await r.settle();
    expect(framesOf(after)).toEqual([dataFrame(0x77, [7])]);
    await second.close();
  });
});
