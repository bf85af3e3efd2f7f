/**
 * Remote view figures through a real Mosquitto on loopback (WebSockets): live readings per second
 * one aggregator publishes and one viewer follows (32 meters, QoS 0, retained, as the app sends
 * them), and history slots per second a viewer's catch-up brings over the signed RPC.
 */
import { connectBroker } from '../src/lib/remote/broker';
import { issueViewer } from '../src/lib/remote/command-auth';
import { type LiveReading, Topics } from '../src/lib/remote/protocol';
import { type PublishedSite, Publisher } from '../src/lib/remote/publisher';
import { startMosquitto } from '../src/lib/remote/testing/mosquitto';
import { RemoteViewer } from '../src/lib/remote/viewer';
import type { SlotEnergy } from '../src/lib/store/queries';
import { SLOT_MS } from '../src/lib/tariff/slot';
import type { Figures } from './figures';

const METERS = 32;
const READINGS = 20_000;

const uidOf = (k: number) => `575753494d0000000000${k.toString(16).padStart(4, '0')}`;

export async function benchRemote(figures: Figures): Promise<void> {
  const broker = await startMosquitto();
  try {
    const topics = new Topics('bench', 'site1');
    const credential = issueViewer('site1');
    const now = Date.now();
    const slotsOf = (uids: readonly string[], from: number, to: number): SlotEnergy[] => {
      const out: SlotEnergy[] = [];
      for (const uid of uids) for (let t = Math.ceil(from / SLOT_MS) * SLOT_MS; t < to; t += SLOT_MS) out.push({ meterId: uid, start: t, importMwh: 1000 + (t / SLOT_MS) % 97, exportMwh: 0 });
      return out;
    };
    // The publisher's site, reduced to what these two paths read.
    const site: PublishedSite = {
      topics,
      name: () => 'Bench',
      meters: () => Array.from({ length: METERS }, (_, k) => ({ uid: uidOf(k), node: k + 1, name: `Load ${k + 1}`, kind: 'load' as const, priority: 50, gridPoint: false })),
      settings: () => ({ contractedPowerW: 6000, currency: 'EUR', pin: undefined }),
      remoteSettings: () => ({ contractedPowerW: 6000, tariff: { version: 1, name: 'flat', currency: 'EUR', timeZone: 'Europe/Rome', bands: { kind: 'single' }, energy: { kind: 'fixed', perKwh: 0.2 }, gridFees: { kind: 'fixed', perKwh: 0 }, excisePerKwh: 0, vatPercent: 0, fixedPerMonth: 0, feedIn: { kind: 'none' }, billing: { periodMonths: 1, firstMonth: 1 } } as never }),
      readPrices: async () => [],
      readSlots: async (uids, from, to) => slotsOf(uids, from, to),
      readEvents: async () => [],
      readSeries: async () => {
        throw new Error('not in this bench');
      },
      setRelay: async () => ({ ok: false, detail: 'not in this bench' }),
      viewers: () => new Map([[credential.viewer, credential]]),
      lastSeq: () => 0,
      acceptSeq: () => undefined,
      loadCursor: async () => new Map(Array.from({ length: METERS }, (_, k) => [uidOf(k), Math.floor(now / SLOT_MS) * SLOT_MS])),
      saveCursor: async () => undefined,
      now: () => Date.now(),
    };
    const siteClient = await connectBroker({ url: broker.url, clientId: 'bench-site' });
    const publisher = new Publisher(siteClient, site, { liveEveryMs: 0, homeAssistant: false });
    const viewerClient = await connectBroker({ url: broker.url, clientId: 'bench-viewer' });
    await Promise.all([siteClient, viewerClient].map((c) => new Promise<void>((resolve) => (c.status === 'connected' ? resolve() : c.onStatus((s) => s === 'connected' && resolve())))));
    await publisher.start();
    const viewer = new RemoteViewer(viewerClient, 'bench');
    await viewer.open('site1', credential, { load: () => 0, save: () => undefined });

    let received = 0;
    let last = 0;
    viewer.subscribe({ live: () => ((received += 1), (last = performance.now())) });
    const t0 = performance.now();
    for (let i = 0; i < READINGS; i++) {
      const reading: LiveReading = { at: now + i, watts: 100 + (i % 50), volts: 230, amps: 0.5, hertz: 50, powerFactor: 1, thdV: 2, thdI: 5, relayOn: true, silent: false, importMwh: i, exportMwh: 0 };
      publisher.live(uidOf(i % METERS), reading);
      // Let the socket drain now and then, as a poll cycle does between readings.
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    const sent = performance.now() - t0;
    const deadline = Date.now() + 30_000;
    while (received < READINGS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const followed = last - t0;
    figures.add('remote', 'mqtt_live_published_per_s', Math.round(READINGS / (sent / 1000)), 'messages/s', '> 32 (32 meters at 1 Hz)', `${METERS} meters, mqtt.js over WebSockets to a local Mosquitto`);
    figures.add('remote', 'mqtt_live_followed_per_s', Math.round(received / (followed / 1000)), 'messages/s', '> 32', `one viewer; ${received} of ${READINGS} received (QoS 0)`);
    console.log(`  remote: published ${READINGS} live readings in ${sent.toFixed(0)} ms; the viewer had ${received} after ${followed.toFixed(0)} ms`);

    // A viewer's catch-up: a day of slots of every meter over the signed history RPC, asked as the
    // replica asks (one meter-day per request, several in flight), and as one large answer.
    const uids = site.meters().map((m) => m.uid);
    const dayStart = Math.floor(now / 86_400_000) * 86_400_000 - 86_400_000;
    const t1 = performance.now();
    const parts = await Promise.all(uids.map((uid) => viewer.slots([uid], dayStart, dayStart + 86_400_000)));
    const rpcMs = performance.now() - t1;
    const count = parts.reduce((a, p) => a + p.length, 0);
    figures.add('remote', 'catch_up_day_32_meters_ms', Math.round(rpcMs), 'ms', '', `a day of ${METERS} meters' slots, one meter-day per request: ${count} slots, ${Math.round(count / (rpcMs / 1000))} slots/s`);
    const t2 = performance.now();
    const one = await viewer.slots(uids, dayStart, dayStart + 86_400_000);
    const oneMs = performance.now() - t2;
    figures.add('remote', 'catch_up_day_one_answer_ms', Math.round(oneMs), 'ms', '', `the same day in one ${Math.round(JSON.stringify(one).length / 1024)} KiB answer: Mosquitto 2.0 over WebSockets is slow with large messages`);
    console.log(`  remote: ${count} slots in ${uids.length} answers in ${rpcMs.toFixed(0)} ms; in one answer ${oneMs.toFixed(0)} ms`);
    viewer.close();
    await viewerClient.close();
    await publisher.stop();
  } finally {
    await broker.stop();
  }
}
