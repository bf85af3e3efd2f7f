import { describe, expect, it } from 'vitest';
import { type CanFrame, dataFrame } from '../frame';
import { collect, runTransportContract, type TransportHarness } from '../testing/transport-contract';
import { EventScheduler } from '../../sim/scheduler';
import { VirtualCanBus } from '../../sim/virtual-bus';
import { LAWICEL_FLAVOUR, SlcanAdapterEmulator, type SlcanFlavour, STOCK_CANABLE_FLAVOUR } from '../../sim/slcan-adapter';
import { AdapterOpenError, openSlcanTransport } from './serial-transport';

const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function rig(flavour: SlcanFlavour, bitrate = 125_000) {
  const scheduler = new EventScheduler();
  const bus = new VirtualCanBus(scheduler, { bitrate });
  const adapter = new SlcanAdapterEmulator(scheduler, bus, { flavour });
  const peer = bus.attach('peer');
  const peerReceived: CanFrame[] = [];
  const peerTransmitted: CanFrame[] = [];
  peer.onReceive = (frame) => peerReceived.push(frame);
  peer.onTransmitted = (frame) => peerTransmitted.push(frame);
  const settle = async () => {
    for (let i = 0; i < 8; i++) {
      await macrotask();
      scheduler.advanceBy(5e6);
    }
    await macrotask();
  };
  return { scheduler, bus, adapter, peer, peerReceived, peerTransmitted, settle };
}

for (const flavour of [LAWICEL_FLAVOUR, STOCK_CANABLE_FLAVOUR]) {
  runTransportContract(`slcan over a serial port (${flavour.name})`, async (): Promise<TransportHarness> => {
    const r = rig(flavour);
    const transport = await openSlcanTransport(r.adapter.port, { bitrate: 125_000, s7Bitrate: flavour.s7Bitrate });
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

describe('slcan serial transport', () => {
  it('configures the adapter: closes it, sets the bit rate, opens it; closes it again at the end', async () => {
    const r = rig(LAWICEL_FLAVOUR, 500_000);
    const transport = await openSlcanTransport(r.adapter.port, { bitrate: 500_000 });
    collect(transport);
    await r.settle();
    expect(r.adapter.mode).toBe('open');
    expect(r.adapter.bitrate).toBe(500_000);
    await transport.close();
    expect(r.adapter.port.isOpen).toBe(false);
    expect(r.adapter.stats.commandsRefused).toBe(0);
  });

  it('opens listen-only when asked, so the adapter never transmits', async () => {
    const r = rig(LAWICEL_FLAVOUR);
    const transport = await openSlcanTransport(r.adapter.port, { bitrate: 125_000, listenOnly: true });
    const { events } = collect(transport);
    await r.settle();
    expect(r.adapter.mode).toBe('listen');
    const writer = transport.toBus.getWriter();
    await writer.write(dataFrame(0x100, [1]));
    await r.settle();
    expect(r.peerReceived).toEqual([]);
    expect(events.some((e) => e.type === 'warning' && e.message.includes('BELL'))).toBe(true);
    writer.releaseLock();
    await transport.close();
  });

  it('receives nothing when the adapter runs at another bit rate than the bus', async () => {
    const r = rig(LAWICEL_FLAVOUR, 250_000);
    const transport = await openSlcanTransport(r.adapter.port, { bitrate: 125_000 });
    const { events } = collect(transport);
    r.peer.send(dataFrame(0x100, [1]));
    await r.settle();
    expect(events.filter((e) => e.type === 'frame')).toEqual([]);
    await transport.close();
  });

  it('fails to open an unplugged adapter with a message for the user', async () => {
    const r = rig(LAWICEL_FLAVOUR);
    r.adapter.port.unplug();
    await expect(openSlcanTransport(r.adapter.port, { bitrate: 125_000 })).rejects.toBeInstanceOf(AdapterOpenError);
  });

  it('reopens after a replug', async () => {
    const r = rig(LAWICEL_FLAVOUR);
    const first = await openSlcanTransport(r.adapter.port, { bitrate: 125_000 });
    const { done } = collect(first);
    await r.settle();
    r.adapter.port.unplug();
    await done;
    r.adapter.port.replug();
    const second = await openSlcanTransport(r.adapter.port, { bitrate: 125_000 });
    const { events } = collect(second);
    r.peer.send(dataFrame(0x321, [9]));
    await r.settle();
    expect(events.filter((e) => e.type === 'frame').map((e) => e.type === 'frame' && e.frame)).toEqual([dataFrame(0x321, [9])]);
    await second.close();
  });
});
