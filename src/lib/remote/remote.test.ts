/**
 * The remote layer end to end in Node: the aggregator and historian on the simulated bus
 * (fake-indexeddb), a real Mosquitto on loopback over WebSockets, the publisher, and a viewer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyRig } from '../aggregator/testing-history';
import { hashPin, DEFAULT_SITE_SETTINGS, type SiteSettings } from '../settings/site-settings';
import { resistive } from '../sim/waveforms';
import { readSlotEnergy } from '../store/queries';
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

async function site(settings: SiteSettings = DEFAULT_SITE_SETTINGS, url = broker.url) {
  const h = await historyRig([
    { nodeId: 3, name: 'oven', load: resistive(2400) },
    { nodeId: 8, name: 'lamp', load: resistive(60) },
  ]);
  const session = await h.open();
  const store = await RemoteSiteStore.open(session.historian);
  const topics = new Topics('wattwall', 'homesite');
  const client = connectBroker({ url, clientId: `site-${Math.random().toString(36).slice(2)}`, will: { topic: topics.availability, payload: 'offline', retain: true, qos: 1 }, reconnectMs: 200 });
  const publisher = new Publisher(client, publishedSite({ topics, siteName: () => 'Home', historian: session.historian, aggregator: () => h.session?.aggregator, settings: () => settings, store, now: h.rig.nowMs }));
  await publisher.start();
  session.aggregator.subscribe({
    snapshot: (r) => {
      const uid = session.historian.uidOfNode(r.node);
      if (uid) publisher.live(uid, { at: r.at, watts: r.record.watts, volts: r.record.volts, amps: r.record.amps, hertz: r.record.hertz, powerFactor: r.record.powerFactor, thdV: null, thdI: null, relayOn: r.record.relayOn, silent: false, importMwh: 0, exportMwh: 0 });
    },
  });
  session.historian.subscribe({ flushed: () => void publisher.historyChanged(), meters: () => publisher.metersChanged() });
  const credential = issueViewer('homesite');
  await store.pair({ ...credential, name: 'phone', pairedAt: h.rig.nowMs() });
  /** Polls the bus a second at a time (virtual), letting the broker's real I/O run between. */
  const tick = async () => {
    await h.poll(1, 1);
    await new Promise((r) => setTimeout(r, 5));
  };
  return { h, session, publisher, client, credential, topics, tick };
}

async function viewerFor(code: string, now: () => number) {
  const client = connectBroker({ url: broker.url, clientId: `viewer-${Math.random().toString(36).slice(2)}`, reconnectMs: 200 });
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
    const sniffer = connectBroker({ url: broker.url, clientId: 'sniffer', reconnectMs: 200 });
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
    expect(viewer.slotsOf(oven.uid)).toEqual(after);
    viewer.close();
    await client.close();
    await s.publisher.stop();
    await s.h.close();
    await proxy.close();
  }, 180_000);
});
