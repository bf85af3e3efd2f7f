/**
 * The remote layer end to end in Node: the aggregator and historian on the simulated bus
 * (fake-indexeddb), a real Mosquitto on loopback over WebSockets, the publisher, and a viewer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyRig } from '../aggregator/testing-history';
import { hashPin, DEFAULT_SITE_SETTINGS, type SiteSettings } from '../settings/site-settings';
import { resistive } from '../sim/waveforms';
import { Historian } from '../aggregator/historian';
import { readEvents, readSlotEnergy } from '../store/queries';
import { openHistory } from '../store/schema';
import { billMeters, computeBill } from '../tariff/billing';
import { rangePeriod } from '../tariff/costs';
import { type PriceSlot, SLOT_MS } from '../tariff/slot';
import { flatTariff, type Tariff } from '../tariff/tariff';
import { RemoteMirror } from './mirror';
import { connectBroker } from './broker';
import { issueViewer, pairingCode, readPairingCode } from './command-auth';
import { Topics } from './protocol';
import { Publisher } from './publisher';
import { publishedSite, RemoteSiteStore } from './site-link';
import { type Mosquitto, startMosquitto, tcpProxy } from './testing/mosquitto';
import { RemoteViewer } from './viewer';

let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker.stop();
});

const until = async (what: string, ok: () => boolean, run: () => Promise<void>, rounds = 200): Promise<void> => {
  for (let k = 0; k < rounds && !ok(); k++) await run();
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
};

/** Awaits `promise` while virtual time moves (the bus must run for a meter to answer). */
async function settle<T>(promise: Promise<T>, run: () => Promise<void>, what = 'an answer'): Promise<T> {
  let done = false;
  let value: T | undefined;
  let failure: unknown;
  promise.then(
    (v) => {
      value = v;
      done = true;
    },
    (e: unknown) => {
      failure = e;
      done = true;
    },
  );
  await until(what, () => done, run);
  if (failure !== undefined) throw failure;
  return value as T;
}

async function site(settings: SiteSettings = DEFAULT_SITE_SETTINGS, url = broker.url, prices: (from: number, to: number) => Promise<readonly PriceSlot[]> = async () => [], id = 'homesite', name = 'Home') {
  const h = await historyRig(
    id === 'homesite'
      ? [
          { nodeId: 3, name: 'oven', load: resistive(2400) },
          { nodeId: 8, name: 'lamp', load: resistive(60) },
        ]
      : [{ nodeId: 5, name: 'pump', load: resistive(900) }],
  );
  const session = await h.open();
  const store = await RemoteSiteStore.open(session.historian);
  const topics = new Topics('wattwall', id);
  const client = await connectBroker({ url, clientId: `site-${Math.random().toString(36).slice(2)}`, will: { topic: topics.availability, payload: 'offline', retain: true, qos: 1 }, reconnectMs: 200 });
  const publisher = new Publisher(client, publishedSite({ topics, siteName: () => name, historian: session.historian, aggregator: () => h.session?.aggregator, settings: () => settings, prices, store, now: h.rig.nowMs }));
  await publisher.start();
  session.aggregator.subscribe({
    snapshot: (r) => {
      const uid = session.historian.uidOfNode(r.node);
      if (uid) publisher.live(uid, { at: r.at, watts: r.record.watts, volts: r.record.volts, amps: r.record.amps, hertz: r.record.hertz, powerFactor: r.record.powerFactor, thdV: null, thdI: null, relayOn: r.record.relayOn, silent: false, importMwh: 0, exportMwh: 0 });
    },
  });
  session.historian.subscribe({ flushed: () => void publisher.historyChanged(), meters: () => publisher.metersChanged() });
  const credential = issueViewer(id);
  await store.pair({ ...credential, name: 'phone', pairedAt: h.rig.nowMs() });
  /** Polls the bus a second at a time (virtual), letting the broker's real I/O run between. */
  const tick = async () => {
    await h.poll(1, 1);
    await new Promise((r) => setTimeout(r, 5));
  };
  return { h, session, publisher, client, credential, topics, tick };
}

async function viewerFor(code: string, now: () => number) {
  const client = await connectBroker({ url: broker.url, clientId: `viewer-${Math.random().toString(36).slice(2)}`, reconnectMs: 200 });
  const viewer = new RemoteViewer(client, 'wattwall', now);
  let seq = 0;
  await new Promise<void>((resolve) => client.onStatus((s) => s === 'connected' && resolve()));
  await viewer.listSites();
  await viewer.open('homesite', readPairingCode(code), { load: () => seq, save: (s) => void (seq = s) });
  return { client, viewer };
}

describe('remote view through a real broker', () => {
  it('a viewer sees the site, its meters and their live power; asks its history; switches a load with a signed command', async () => {
    const s = await site();
    await until('the site to be connected', () => s.client.status === 'connected', s.tick);
    const { viewer, client } = await viewerFor(pairingCode(s.credential), s.h.rig.nowMs);
    await until('the meters', () => viewer.meters.length === 2 && viewer.sites.has('homesite') && viewer.online, s.tick);
    expect(viewer.sites.get('homesite')).toMatchObject({ name: 'Home', contractedPowerW: 3000, pin: null });
    const oven = viewer.meters.find((m) => m.node === 3);
    if (!oven) throw new Error('no oven');
    await until('live readings', () => (viewer.liveOf(oven.uid)?.watts ?? 0) > 2000, s.tick);
    expect(Math.abs((viewer.liveOf(oven.uid)?.watts ?? 0) - 2400) / 2400).toBeLessThan(0.01);

    // History over the broker equals what the site's own database holds.
    await s.h.poll(30, 5);
    await s.session.historian.flush();
    const from = s.h.rig.nowMs() - 3_600_000;
    const to = s.h.rig.nowMs() + 1;
    const [remote, local] = await Promise.all([settle(viewer.slots([oven.uid], from, to), s.tick), readSlotEnergy(s.h.db, [oven.uid], from, to)]);
    expect(remote).toEqual(local);
    expect(remote.length).toBeGreaterThan(0);
    const series = await settle(viewer.series({ uid: oven.uid, quantity: 'p', from: s.h.rig.nowMs() - 60_000, to }), s.tick);
    expect(series.resolution).toBe('raw');
    expect(series.t.length).toBeGreaterThan(20);

    // A signed command reaches the meter; the same command replayed does not.
    const meter = s.h.rig.meters.find((m) => m.nodeId === 3);
    let captured: Uint8Array | undefined;
    const sniffer = await connectBroker({ url: broker.url, clientId: 'sniffer', reconnectMs: 200 });
    await new Promise<void>((resolve) => sniffer.onStatus((st) => st === 'connected' && resolve()));
    sniffer.onMessage((_t, payload) => (captured = payload));
    await sniffer.subscribe(s.topics.command(s.credential.viewer), 1);
    expect(await settle(viewer.command({ type: 'relay', uid: oven.uid, on: false }), s.tick, 'the command')).toMatchObject({ ok: true });
    expect(meter?.core.relayOn).toBe(false);
    await settle((s.h.session as NonNullable<typeof s.h.session>).aggregator.setRelay(3, true), s.tick);
    expect(meter?.core.relayOn).toBe(true);
    expect(captured).toBeDefined();
    await sniffer.publish(s.topics.command(s.credential.viewer), new TextDecoder().decode(captured), { qos: 1 });
    for (let k = 0; k < 10; k++) await s.tick();
    expect(meter?.core.relayOn).toBe(true);
    expect(s.publisher.status.commandsRefused).toBe(1);
    await sniffer.close();
    viewer.close();
    await client.close();
    await s.publisher.stop();
    await s.h.close();
  }, 120_000);

  it('refuses a wrong PIN and a stranger; the PIN never crosses the broker', async () => {
    const pin = await hashPin('2468');
    const s = await site({ ...DEFAULT_SITE_SETTINGS, pin });
    await until('the site to be connected', () => s.client.status === 'connected', s.tick);
    const { viewer, client } = await viewerFor(pairingCode(s.credential), s.h.rig.nowMs);
    await until('the meters', () => viewer.meters.length === 2 && viewer.sites.get('homesite')?.pin !== null, s.tick);
    const oven = viewer.meters.find((m) => m.node === 3);
    const meter = s.h.rig.meters.find((m) => m.nodeId === 3);
    if (!oven || !meter) throw new Error('no oven');
    const run = (p: Promise<{ ok: boolean; detail: string }>) => settle(p, s.tick);
    expect(await run(viewer.command({ type: 'relay', uid: oven.uid, on: false }))).toEqual(expect.objectContaining({ ok: false, detail: 'this site needs its PIN to switch a load' }));
    expect(await run(viewer.command({ type: 'relay', uid: oven.uid, on: false }, '1111'))).toEqual(expect.objectContaining({ ok: false, detail: 'wrong PIN' }));
    expect(meter.core.relayOn).toBe(true);
    expect(await run(viewer.command({ type: 'relay', uid: oven.uid, on: false }, '2468'))).toEqual(expect.objectContaining({ ok: true }));
    expect(meter.core.relayOn).toBe(false);
    // A viewer the site never paired gets no answer and switches nothing.
    const stranger = await viewerFor(pairingCode(issueViewer('homesite')), s.h.rig.nowMs);
    await expect(settle(stranger.viewer.command({ type: 'relay', uid: oven.uid, on: true }, '2468', 2000), s.tick)).rejects.toThrow(/did not answer/);
    expect(meter.core.relayOn).toBe(false);
    stranger.viewer.close();
    await stranger.client.close();
    viewer.close();
    await client.close();
    await s.publisher.stop();
    await s.h.close();
  }, 120_000);

  it('keeps working while the broker is away; catches up after, losing and doubling nothing', async () => {
    // The site reaches the broker through a link the test can cut; the viewer stays connected.
    const proxy = await tcpProxy(broker.port);
    const s = await site(DEFAULT_SITE_SETTINGS, `ws://127.0.0.1:${proxy.port}`);
    await until('the site to be connected', () => s.client.status === 'connected', s.tick);
    const { viewer, client } = await viewerFor(pairingCode(s.credential), s.h.rig.nowMs);
    await until('the meters', () => viewer.meters.length === 2 && viewer.online, s.tick);
    const oven = viewer.meters.find((m) => m.node === 3) as (typeof viewer.meters)[number];

    proxy.cut();
    // The broker publishes the site's last will: the viewer shows it offline.
    await until('the site to be offline', () => !viewer.online, async () => {
      await new Promise((r) => setTimeout(r, 100));
    });
    // 40 minutes of the site without its broker: the history goes on.
    for (let k = 0; k < 40 * 6; k++) await s.h.poll(10, 10);
    await s.session.historian.flush();
    expect(s.client.status).not.toBe('connected');
    proxy.restore();
    await until('the site to reconnect', () => s.client.status === 'connected' && viewer.online, async () => {
      await new Promise((r) => setTimeout(r, 100));
    });
    await settle(s.publisher.historyChanged(), s.tick);
    for (let k = 0; k < 5; k++) await s.tick();
    const local = await readSlotEnergy(s.h.db, [oven.uid], s.h.rig.nowMs() - 2 * 86_400_000, s.h.rig.nowMs() + 1);
    const received = viewer.slotsOf(oven.uid);
    // The outage's slots came over the live stream once it was back: every slot the site has,
    // once each (40 minutes: at least three), each closed one with the site's value.
    expect(received.map((r) => r.start)).toEqual(local.map((l) => l.start));
    expect(received.length).toBeGreaterThanOrEqual(3);
    expect(received.slice(0, -1)).toEqual(local.slice(0, -1));

    // The broker itself restarts and forgets everything: the viewer asks the site for what it missed.
    await broker.stop();
    await s.h.poll(60, 10);
    await broker.restart();
    await until('both to reconnect', () => s.client.status === 'connected' && client.status === 'connected', async () => {
      await new Promise((r) => setTimeout(r, 100));
    });
    await s.session.historian.flush();
    await settle(viewer.resync(s.h.rig.nowMs() - 86_400_000), s.tick);
    const after = await readSlotEnergy(s.h.db, [oven.uid], s.h.rig.nowMs() - 2 * 86_400_000, s.h.rig.nowMs() + 1);
    // The simulation keeps ticking while the answer travels, so the open slot may have grown since.
    const resynced = viewer.slotsOf(oven.uid);
    expect(resynced.map((r) => r.start)).toEqual(after.map((l) => l.start));
    expect(resynced.slice(0, -1)).toEqual(after.slice(0, -1));
    const [lastSeen, lastStored] = [resynced.at(-1), after.at(-1)];
    expect(lastSeen?.importMwh ?? Infinity).toBeLessThanOrEqual(lastStored?.importMwh ?? 0);
    viewer.close();
    await client.close();
    await s.publisher.stop();
    await s.h.close();
    await proxy.close();
  }, 180_000);
  it('a viewer’s replica holds every slot, the events, the tariff and the prices: its bill is the site’s, to the cent', async () => {
    // A dynamic tariff: the bill needs the site's spot prices as well as its energy.
    const base = flatTariff(0.2, 'EUR', 'Europe/Rome');
    const tariff: Tariff = { ...base, name: 'dynamic', energy: { kind: 'dynamic', markupPerKwh: 0.01, fallback: { kind: 'fixed', perKwh: 0.2 } } };
    const spot = (from: number, to: number): PriceSlot[] => {
      const out: PriceSlot[] = [];
      for (let t = Math.ceil(from / SLOT_MS) * SLOT_MS; t < to; t += SLOT_MS) out.push({ start: t, end: t + SLOT_MS, price: 0.05 + ((t / SLOT_MS) % 7) * 0.01 });
      return out;
    };
    const settings: SiteSettings = { ...DEFAULT_SITE_SETTINGS, contractedPowerW: 4500, tariff };
    const s = await site(settings, broker.url, async (from, to) => spot(from, to));
    await until('the site to be connected', () => s.client.status === 'connected', s.tick);
    // The site has history before the viewer first opens it.
    for (let k = 0; k < 30 * 6; k++) await s.h.poll(10, 10);
    await s.session.historian.flush();
    await settle(s.publisher.historyChanged(), s.tick);

    const { viewer, client } = await viewerFor(pairingCode(s.credential), s.h.rig.nowMs);
    const db = await openHistory(`replica-${Math.random().toString(36).slice(2)}`);
    const replica = await Historian.open(db);
    const adopted: PriceSlot[] = [];
    let remoteSettings: unknown;
    const mirror = new RemoteMirror(replica, viewer, { now: s.h.rig.nowMs, prices: async (p) => void adopted.push(...p), settings: (r) => (remoteSettings = r) });
    await mirror.start();
    await until('the meters and settings', () => replica.meters.length === 2 && remoteSettings !== undefined, s.tick);
    expect(remoteSettings).toEqual({ contractedPowerW: 4500, tariff });
    const named = (ms: readonly { uid: string; name: string; node: number; kind: string }[]) => ms.map((m) => ({ uid: m.uid, name: m.name, node: m.node, kind: m.kind })).sort((a, b) => a.node - b.node);
    expect(named(replica.meters)).toEqual(named(s.session.historian.meters));
    const caught = await settle(mirror.catchUp(), s.tick, 'the catch-up');
    expect(caught.slots).toBeGreaterThanOrEqual(4);

    // Then it follows live: more history, written on the site, arrives by the stream alone.
    for (let k = 0; k < 20 * 6; k++) await s.h.poll(10, 10);
    // From here the bus stands still (real time only), so the site's last flush is its final word.
    const wait = () => new Promise<void>((r) => setTimeout(r, 20));
    await s.session.historian.flush();
    await settle(s.publisher.historyChanged(), wait);
    for (let k = 0; k < 25; k++) await wait(); // the stream's last messages, in real time
    await mirror.idle();

    const uids = s.session.historian.meters.map((m) => m.uid);
    const from = s.h.rig.nowMs() - 2 * 86_400_000;
    const to = s.h.rig.nowMs() + 1;
    const [mine, theirs] = await Promise.all([readSlotEnergy(db, uids, from, to), readSlotEnergy(s.h.db, uids, from, to)]);
    expect(mine).toEqual(theirs);
    expect(await readEvents(db, from, to)).toEqual(await readEvents(s.h.db, from, to));
    // Every spot price of the span the replica covers, as the site holds them.
    expect(adopted.length).toBeGreaterThan(0);
    expect(adopted.every((p) => spot(p.start, p.end)[0]?.price === p.price)).toBe(true);

    const period = rangePeriod(Math.floor(from / SLOT_MS) * SLOT_MS, Math.ceil(to / SLOT_MS) * SLOT_MS, tariff.timeZone);
    const bill = (energy: typeof mine, meters: typeof replica.meters) => computeBill({ tariff, meters: billMeters(meters), energy, spot: adopted, period, now: to });
    const viewerBill = bill(mine, replica.meters);
    const siteBill = computeBill({ tariff, meters: billMeters(s.session.historian.meters), energy: theirs, spot: spot(period.start, period.end), period, now: to });
    expect(viewerBill.totalCents).toBe(siteBill.totalCents);
    expect(viewerBill.totalCents).toBeGreaterThan(0);

    mirror.stop();
    viewer.close();
    await client.close();
    db.close();
    await s.publisher.stop();
    await s.h.close();
  }, 180_000);
  it('one viewer lists the sites on a broker and switches between them', async () => {
    const home = await site();
    const barn = await site(DEFAULT_SITE_SETTINGS, broker.url, async () => [], 'barnsite', 'Barn');
    const both = async () => {
      await home.tick();
      await barn.tick();
    };
    await until('both sites to be connected', () => home.client.status === 'connected' && barn.client.status === 'connected', both);
    const { viewer, client } = await viewerFor(pairingCode(home.credential), home.h.rig.nowMs);
    await until('both sites listed', () => viewer.sites.has('homesite') && viewer.sites.has('barnsite'), both);
    expect([...viewer.sites.values()].map((a) => a.name).sort()).toEqual(['Barn', 'Home']);
    await until('the home meters', () => viewer.meters.length === 2 && viewer.online, both);
    // The other site, with its own pairing: only its meters, its live power, its history.
    await viewer.open('barnsite', barn.credential, { load: () => 0, save: () => undefined });
    await until('the barn meters', () => viewer.meters.length === 1 && viewer.online && (viewer.liveOf(viewer.meters[0]?.uid ?? '')?.watts ?? 0) > 800, both);
    expect(viewer.site).toBe('barnsite');
    const pump = viewer.meters[0]?.uid as string;
    await barn.session.historian.flush();
    const to = barn.h.rig.nowMs() + 1;
    expect(await settle(viewer.slots([pump], to - 3_600_000, to), both)).toEqual(await readSlotEnergy(barn.h.db, [pump], to - 3_600_000, to));
    viewer.close();
    await client.close();
    for (const s of [home, barn]) {
      await s.publisher.stop();
      await s.h.close();
    }
  }, 120_000);
});
