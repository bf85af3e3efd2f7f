/**
 * The demo bus across its worker link (a MessageChannel here, a Worker in the browser): the page
 * side opens the emulated adapter with the real slcan driver and polls the household with the
 * real aggregator; the meters' flash comes back to the page; the port closes and opens again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../aggregator/aggregator';
import { ephemeralSite } from '../aggregator/site';
import { openSlcanTransport } from '../can/slcan/serial-transport';
import { collect } from '../can/testing/transport-contract';
import { connectDemoBus, type DemoBusLink } from './demo-client';
import { serveDemoBus } from './demo-host';
import { meterCoreModule, TEST_SITE_KEY } from './testing/sim-rig';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function household(nv: [number, Uint8Array][] = []): Promise<{ link: DemoBusLink; saved: Map<number, Uint8Array> }> {
  const channel = new MessageChannel();
  const host = serveDemoBus(channel.port2, { loadModule: meterCoreModule });
  const saved = new Map<number, Uint8Array>();
  const link = await connectDemoBus(channel.port1, { bitrate: 500_000, siteKey: TEST_SITE_KEY, startHour: 12, nv, saveNv: (node, bytes) => saved.set(node, bytes) });
  cleanups.push(() => {
    link.stop();
    host.stop();
    channel.port1.close();
    channel.port2.close();
  });
  return { link, saved };
}

/** Polls until every meter has given a reading; each one's reading and boot count. */
async function pollUntilAll(link: DemoBusLink): Promise<{ watts: Map<number, number>; boots: Map<number, number> }> {
  const transport = await openSlcanTransport(link.port, { bitrate: 500_000 });
  const aggregator = new Aggregator(transport, { ...(await ephemeralSite(TEST_SITE_KEY)), bitrate: 500_000, intervalMs: 200 });
  const watts = new Map<number, number>();
  const boots = new Map<number, number>();
  const everyone = new Promise<void>((resolve) =>
    aggregator.subscribe({
      // A meter is polled only once its STATUS verified: its boot count comes first.
      status: (node, record) => boots.set(node, record.boots),
      snapshot: ({ node, record }) => {
        watts.set(node, record.watts);
        if (watts.size === link.meters.length) resolve();
      },
    }),
  );
  aggregator.start();
  await everyone;
  await aggregator.stop(); // closes the transport, and with it the port
  return { watts, boots };
}

describe('the demo bus over its worker link', () => {
  it('names its meters, and each answers the real driver with verified readings', async () => {
    const { link } = await household();
    expect(link.meters.map((m) => m.nodeId)).toEqual([1, 2, 3, 4, 5, 10]);
    expect(link.meters.find((m) => m.nodeId === 10)?.kind).toBe('generator');
    const { watts } = await pollUntilAll(link);
    // At noon the roof exports; every load draws.
    expect(watts.get(10)).toBeLessThan(-2500);
    for (const node of [1, 2, 3, 4, 5]) expect(watts.get(node)).toBeGreaterThanOrEqual(-1);
  }, 20_000);

  it('closes the port and opens it again, as the app does on a bit-rate change', async () => {
    const { link } = await household();
    await pollUntilAll(link);
    expect(link.port.readable).toBeNull();
    const again = await pollUntilAll(link);
    expect(again.watts.size).toBe(link.meters.length);
  }, 30_000);

  it('gives the meters’ flash to the page, and a new household boots from it', async () => {
    const first = await household();
    const before = (await pollUntilAll(first.link)).boots;
    await expect.poll(() => first.saved.size, { timeout: 10_000 }).toBe(first.link.meters.length);
    const second = await household([...first.saved]);
    const after = (await pollUntilAll(second.link)).boots;
    // Each meter booted again from its own flash: one boot more. A household with no flash starts over.
    expect(after.size).toBe(first.link.meters.length);
    for (const [node, count] of before) expect(after.get(node)).toBe(count + 1);
    const fresh = (await pollUntilAll((await household()).link)).boots;
    expect(fresh).toEqual(before);
  }, 30_000);

  it('a household stopped under an open driver ends its stream: the driver reports the adapter gone', async () => {
    const { link } = await household();
    const transport = await openSlcanTransport(link.port, { bitrate: 500_000 });
    const { events, done } = collect(transport);
    link.stop();
    await done;
    expect(events.filter((e) => e.type === 'status').at(-1)).toMatchObject({ status: 'disconnected', reason: 'device-lost' });
    expect(link.port.readable).toBeNull();
    await transport.close(); // and closing it after does not wait for the worker that is gone
  });

  it('says why when the household cannot start', async () => {
    const channel = new MessageChannel();
    const host = serveDemoBus(channel.port2, { loadModule: () => Promise.reject(new Error('meter core not found (404 /meter.wasm)')) });
    cleanups.push(() => {
      host.stop();
      channel.port1.close();
      channel.port2.close();
    });
    await expect(connectDemoBus(channel.port1, { bitrate: 125_000, siteKey: TEST_SITE_KEY, startHour: 8, nv: [], saveNv: () => undefined })).rejects.toThrow(
      'the demo bus could not start: meter core not found (404 /meter.wasm)',
    );
  });
});
