import { describe, expect, it } from 'vitest';
import { dataFrame, remoteFrame } from './frame';
import type { TransportEvent } from './transport';
import { collect } from './testing/transport-contract';
import {
  AdapterConnection,
  type AdapterConnectionOptions,
  findGranted,
  isRemembered,
  loadRemembered,
  pickDevice,
  rememberDevice,
  type RememberedAdapter,
  saveRemembered,
} from './connection';
import type { AdapterKind } from './registry';
import { busRig } from '../sim/testing/bus-rig';
import { EmulatedSerialApi, EmulatedUsbApi } from '../sim/emulated-navigator';
import { NAKAKIYO_FLAVOUR, SlcanAdapterEmulator, USBTIN_FLAVOUR } from '../sim/slcan-adapter';
import { CANDLELIGHT_2026_FLAVOUR, GsUsbAdapterEmulator } from '../sim/gs-usb-adapter';

function setup(kind: AdapterKind) {
  const r = busRig(125_000);
  const serial = new EmulatedSerialApi();
  const usb = new EmulatedUsbApi();
  let unplug: () => void;
  let replug: () => void;
  if (kind === 'gs-usb') {
    const adapter = new GsUsbAdapterEmulator(r.scheduler, r.bus, { flavour: CANDLELIGHT_2026_FLAVOUR });
    usb.add(adapter.usb);
    unplug = () => adapter.unplug();
    replug = () => adapter.replug();
  } else {
    const adapter = new SlcanAdapterEmulator(r.scheduler, r.bus, { flavour: NAKAKIYO_FLAVOUR });
    if (kind === 'slcan-serial') serial.add(adapter.port);
    else usb.add(adapter.usb);
    unplug = () => adapter.unplug();
    replug = () => adapter.replug();
  }
  const apis = { serial, usb };
  const options: AdapterConnectionOptions = { bitrate: 125_000, now: r.nowMs, timers: r.timers };
  const connect = async (target: RememberedAdapter) => {
    const connection = new AdapterConnection(target, apis, options);
    const phases: string[] = [];
    connection.onChange((s) => phases.push(s.phase));
    const started = await r.during(connection.start());
    return { connection, phases, started };
  };
  return { ...r, serial, usb, apis, unplug: () => unplug(), replug: () => replug(), connect };
}

const framesOf = (events: readonly TransportEvent[]) => events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
const statusesOf = (events: readonly TransportEvent[]) =>
  events.flatMap((e) => (e.type === 'status' ? [`${e.status}${e.reason ? `:${e.reason}` : ''}`] : []));

describe.each(['slcan-serial', 'slcan-usb', 'gs-usb'] as const)('AdapterConnection (%s)', (kind) => {
  it('picks, remembers and connects; frames flow both ways', async () => {
    const s = setup(kind);
    const device = await pickDevice(kind, s.apis);
    if (!device) throw new Error('nothing picked');
    const target = rememberDevice(kind, device);
    expect(target.kind).toBe(kind);
    const { connection, started } = await s.connect(target);
    expect(started).toBe(true);
    const { events } = collect(connection.transport);
    s.peer.send(dataFrame(0x101, [1]));
    const writer = connection.transport.toBus.getWriter();
    await writer.write(remoteFrame(0x204, 8));
    await s.settle();
    expect(framesOf(events)).toEqual([dataFrame(0x101, [1])]);
    expect(s.peerReceived).toEqual([remoteFrame(0x204, 8)]);
    writer.releaseLock();
    await connection.close();
  });

  it('carries on across an unplug and a replug without a click; frames written meanwhile are dropped and counted', async () => {
    const s = setup(kind);
    const device = await pickDevice(kind, s.apis);
    const { connection, phases } = await s.connect(rememberDevice(kind, device as NonNullable<typeof device>));
    const { events } = collect(connection.transport);
    const writer = connection.transport.toBus.getWriter();
    await s.settle();
    s.unplug();
    await s.until(() => connection.state.phase === 'waiting');
    await writer.write(remoteFrame(0x204, 8)); // the aggregator polls on: nothing breaks, nothing is queued
    await writer.write(remoteFrame(0x205, 8));
    await s.run(2000, 50);
    expect(connection.state.phase).toBe('waiting');
    s.replug();
    await s.until(() => connection.state.phase === 'connected');
    s.peer.send(dataFrame(0x102, [2]));
    await writer.write(remoteFrame(0x206, 8));
    await s.settle();
    expect(framesOf(events)).toEqual([dataFrame(0x102, [2])]);
    expect(s.peerReceived).toEqual([remoteFrame(0x206, 8)]);
    const statuses = statusesOf(events);
    expect(statuses).toContain('disconnected:device-lost');
    expect(statuses.at(-1)).toBe('connected');
    expect(events.filter((e) => e.type === 'warning').map((e) => e.type === 'warning' && e.message)).toContain('2 frames were not sent while the adapter was away');
    expect(phases).toContain('waiting');
    expect(s.serial.requests + s.usb.requests).toBe(1); // the one pick at the start
    writer.releaseLock();
    await connection.close();
  });

  it('at start: an absent adapter is waited for, and connects when it is plugged in', async () => {
    const s = setup(kind);
    const device = await pickDevice(kind, s.apis);
    const target = rememberDevice(kind, device as NonNullable<typeof device>);
    s.unplug();
    const { connection, started } = await s.connect(target);
    expect(started).toBe(false);
    expect(connection.state.phase).toBe('waiting');
    s.replug();
    await s.until(() => connection.state.phase === 'connected');
    expect(await findGranted(target, s.apis)).toBeDefined();
    await connection.close();
  });

  it('closes for good on request: disconnected by the user, streams end, writes fail', async () => {
    const s = setup(kind);
    const device = await pickDevice(kind, s.apis);
    const { connection } = await s.connect(rememberDevice(kind, device as NonNullable<typeof device>));
    const { events, done } = collect(connection.transport);
    await s.settle();
    await connection.close();
    await done;
    expect(statusesOf(events).at(-1)).toBe('disconnected:user');
    await expect(connection.transport.toBus.getWriter().write(dataFrame(1, []))).rejects.toThrow();
    s.unplug();
    s.replug();
    await s.run(500, 50);
    expect(connection.state.phase).toBe('closed');
  });
});

describe('AdapterConnection: retries and matching', () => {
  it('retries with backoff while the device is there but will not open, then connects', async () => {
    const r = busRig();
    const usb = new EmulatedUsbApi();
    const adapter = new GsUsbAdapterEmulator(r.scheduler, r.bus, { usb: { kernelDriverOn: [0] } });
    usb.add(adapter.usb, true);
    const target: RememberedAdapter = { kind: 'gs-usb', vendorId: 0x1d50, productId: 0x606f, label: 'candleLight' };
    const connection = new AdapterConnection(target, { usb }, { bitrate: 125_000, now: r.nowMs, timers: r.timers, retryDelaysMs: [100, 200] });
    const details: string[] = [];
    connection.onChange((s) => s.detail && details.push(s.detail));
    expect(await r.during(connection.start())).toBe(false);
    expect(connection.state.phase).toBe('retrying');
    expect(connection.state.detail).toMatch(/kernel's gs_usb driver holds it/);
    await r.run(350, 10);
    expect(connection.state.attempt).toBeGreaterThanOrEqual(3);
    adapter.usb.detachKernelDrivers();
    await r.until(() => connection.state.phase === 'connected');
    expect(details.length).toBeGreaterThanOrEqual(3);
    await connection.close();
  });

  it('ignores another adapter of the same model (a different serial number)', async () => {
    const r = busRig();
    const usb = new EmulatedUsbApi();
    const mine = new GsUsbAdapterEmulator(r.scheduler, r.bus, { serialNumber: 'AAAA' });
    const other = new GsUsbAdapterEmulator(r.scheduler, r.bus, { serialNumber: 'BBBB' });
    usb.add(mine.usb, true);
    usb.add(other.usb, true);
    const target: RememberedAdapter = { kind: 'gs-usb', vendorId: 0x1d50, productId: 0x606f, serialNumber: 'AAAA', label: 'mine' };
    mine.unplug();
    const connection = new AdapterConnection(target, { usb }, { bitrate: 125_000, now: r.nowMs, timers: r.timers });
    await r.during(connection.start());
    other.unplug();
    other.replug();
    await r.run(500, 10);
    expect(connection.state.phase).toBe('waiting');
    expect(isRemembered(target, other.usb.handle as NonNullable<typeof other.usb.handle>)).toBe(false);
    mine.replug();
    await r.until(() => connection.state.phase === 'connected');
    expect(connection.transport.label).toContain('candleLight');
    await connection.close();
  });

  it('a cancelled picker gives nothing, and no API means a plain error', async () => {
    const serial = new EmulatedSerialApi();
    serial.chooser = () => undefined;
    expect(await pickDevice('slcan-serial', { serial })).toBeUndefined();
    await expect(pickDevice('gs-usb', { serial })).rejects.toThrow('candleLight / gs_usb (WebUSB) needs WebUSB, which this browser does not have.');
  });

  it('offers only known adapters unless asked for any device', async () => {
    const r = busRig();
    const serial = new EmulatedSerialApi();
    const clone = new SlcanAdapterEmulator(r.scheduler, r.bus, { flavour: { ...USBTIN_FLAVOUR, usbVendorId: 0x1a86, usbProductId: 0x7523 } });
    serial.add(clone.port);
    serial.chooser = (ports) => ports[0];
    expect(await pickDevice('slcan-serial', { serial })).toBeUndefined();
    expect(await pickDevice('slcan-serial', { serial }, { anyDevice: true })).toBe(clone.port);
  });
});

describe('remembered adapter storage', () => {
  const memory = () => {
    const items = new Map<string, string>();
    return { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v), removeItem: (k: string) => void items.delete(k), items };
  };

  it('round-trips, and forgets', () => {
    const storage = memory();
    const adapter: RememberedAdapter = { kind: 'gs-usb', vendorId: 0x1d50, productId: 0x606f, serialNumber: '003A', label: 'candleLight' };
    saveRemembered(storage, adapter);
    expect(loadRemembered(storage)).toEqual(adapter);
    saveRemembered(storage, undefined);
    expect(loadRemembered(storage)).toBeUndefined();
  });

  it('reads nothing from damaged or foreign values', () => {
    const storage = memory();
    for (const text of ['{', 'null', '"x"', '{"kind":"bluetooth"}', '[]']) {
      storage.setItem('wattwall.adapter', text);
      expect(loadRemembered(storage), text).toBeUndefined();
    }
    storage.setItem('wattwall.adapter', '{"kind":"slcan-serial","vendorId":-1,"productId":70000}');
    expect(loadRemembered(storage)).toEqual({ kind: 'slcan-serial', label: 'slcan adapter (Web Serial)' });
  });
});
