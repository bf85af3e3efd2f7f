import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applySiteSecrets, RESTORE_COUNTER_SKIP, siteSecrets, siteFingerprint } from '../aggregator/site';
import type { SnapshotFields } from '../meter/records';
import { BackupError, readBackup, restoreBackup, type SiteSecrets, writeBackup } from './backup';
import { csvText } from './export';
import { ledgerTotal, readSeries } from './queries';
import { type HistoryDb, type MeterInfo, openHistory, SlotQuality, STORE_NAMES } from './schema';
import { HistoryWriter } from './writer';

const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);
const UID = '575753494d00000000000003';
let n = 0;
const freshDb = () => openHistory(`backup-test-${++n}`);
const meter: MeterInfo = { uid: UID, node: 3, name: 'Oven, "big" one', kind: 'load', priority: 20, gridPoint: false, interruptible: true, firmware: '1.0.1', firstSeen: T0, lastSeen: T0 };
const fields = (watts: number): SnapshotFields => ({ timeS: 0, timeCs: 0, flags: 5, vrms: 23012, irms: 8700, p: watts * 1000, n: 120, pf: 9990, f: 49_987, thdV: 215, thdI: 0xffff });
const secrets: SiteSecrets = { siteKeyHex: '11'.repeat(32), senderReservedEnd: 512, meterFv: { [UID]: 4242 } };

async function filledDb(): Promise<HistoryDb> {
  const db = await freshDb();
  const writer = new HistoryWriter(db);
  writer.putMeter(meter);
  for (let s = 0; s < 75; s++) writer.addSnapshot(UID, { at: T0 + s * 1000, fields: fields(2000 + s) });
  writer.addEnergy(UID, [{ start: T0, importMwh: 41_700, exportMwh: 0 }], SlotQuality.MEASURED, { uid: UID, at: T0 + 75_000, importMwh: 41_700, exportMwh: 0, epoch: 0, boots: 1, countedImportMwh: 41_700, countedExportMwh: 0 });
  writer.addEvent({ uid: UID, seq: 1, kind: 'dip', start: T0 + 30_500, durationMs: 60, extremeV: 190.25 });
  writer.putSetting('contracted-power', { watts: 3000 });
  writer.log({ at: T0, level: 'info', code: 'meter-joined', message: 'joined', uid: UID });
  await writer.flush();
  return db;
}

async function dump(db: HistoryDb): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const name of STORE_NAMES) out[name] = [...(await db.getAll(name)), ...(await db.getAllKeys(name))];
  return out;
}

describe('backup and restore', () => {
  it('restores every row, typed arrays included, into an empty database', async () => {
    const source = await filledDb();
    const file = await writeBackup(source, 'abcd0123', secrets);
    expect(file[0]).toBe(0x1f); // gzip
    const parsed = await readBackup(file);
    expect(parsed.header.secrets).toEqual(secrets);
    const target = await freshDb();
    await restoreBackup(target, parsed);
    expect(await dump(target)).toEqual(await dump(source));
    const series = await readSeries(target, { uid: UID, quantity: 'p', from: T0, to: T0 + 75_000 });
    expect(series.mean[74]).toBe(2074);
    expect(await ledgerTotal(target, UID)).toEqual({ importMwh: 41_700, exportMwh: 0 });
  });

  it('with a passphrase, is unreadable without it and exact with it', async () => {
    const source = await filledDb();
    const file = await writeBackup(source, 'abcd0123', secrets, 'correct horse battery');
    await expect(readBackup(file)).rejects.toThrow(/encrypted/);
    await expect(readBackup(file, 'wrong passphrase')).rejects.toThrow(BackupError);
    expect((await readBackup(file, 'correct horse battery')).rows.length).toBeGreaterThan(5);
    await expect(writeBackup(source, 'x', secrets, 'short')).rejects.toThrow(/8 characters/);
  });

  it('refuses a cut, altered or foreign file before it touches the database', async () => {
    const source = await filledDb();
    const target = await filledDb();
    const before = await dump(target);
    const text = new TextDecoder().decode(await gunzip(await writeBackup(source, 's', null)));
    const lines = text.trimEnd().split('\n');
    const cut = await gzip(lines.slice(0, -1).join('\n'));
    await expect(readBackup(cut)).rejects.toThrow(/cut short|closing line/);
    const altered = await gzip(text.replace('"name":"Oven', '"name":"Over'));
    await expect(readBackup(altered)).rejects.toThrow(/checksum/);
    await expect(readBackup(await gzip('{"format":"something-else"}\n{"end":true}\n'))).rejects.toThrow(/not a Wattwall backup/);
    await expect(readBackup(new TextEncoder().encode('plain text'))).rejects.toThrow(BackupError);
    expect(await dump(target)).toEqual(before);
  });

  it('leaves the database as it was when a restore fails half way', async () => {
    const target = await filledDb();
    const before = await dump(target);
    const parsed = await readBackup(await writeBackup(await filledDb(), 's', null));
    // A row the store cannot take (no key): the transaction aborts, nothing was cleared.
    const broken = { ...parsed, rows: [...parsed.rows, { store: 'meters' as const, value: { name: 'no uid' } }] };
    await expect(restoreBackup(target, broken)).rejects.toThrow();
    expect(await dump(target)).toEqual(before);
  });

  it('never throws anything but a BackupError on arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        await expect(readBackup(bytes)).rejects.toBeInstanceOf(BackupError);
      }),
      { numRuns: 150 },
    );
  });

  it('carries the site secrets: a restored counter jumps past what the backup knew', () => {
    const storage = new Map<string, string>();
    const kv = { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) };
    const siteKey = applySiteSecrets(secrets, kv);
    expect(siteFingerprint(siteKey)).toMatch(/^[0-9a-f]{8}$/);
    const restored = siteSecrets(siteKey, kv);
    expect(restored.senderReservedEnd).toBe(512 + RESTORE_COUNTER_SKIP);
    expect(restored.meterFv).toEqual({ [UID]: 4242 });
    expect(kv.getItem('wattwall.site-key')).toBe(secrets.siteKeyHex);
  });
});

describe('CSV export', () => {
  it('writes power at full rate, energy per slot and events, quoting names as RFC 4180 asks', async () => {
    const db = await filledDb();
    const power = (await csvText(db, { kind: 'power', meters: [meter], from: T0, to: T0 + 3_000 })).split('\r\n');
    expect(power[0]).toBe('time,meter,uid,p_w,vrms_v,irms_a,n_var,pf,f_hz,thd_v_pct,thd_i_pct,relay_on,flagged');
    expect(power[1]).toBe(`2026-12-01T08:00:00.000Z,"Oven, ""big"" one",${UID},2000,230.12,8.7,0.12,0.999,49.987,2.15,,1,1`);
    expect(power).toHaveLength(1 + 3 + 1);
    const minutes = (await csvText(db, { kind: 'power', meters: [meter], from: T0, to: T0 + 120_000, resolution: '1m' })).split('\r\n');
    expect(minutes).toHaveLength(1 + 2 + 1);
    expect(minutes[2]).toContain(',1m,2060,2067,2074,');
    const energy = await csvText(db, { kind: 'energy', meters: [meter], from: T0, to: T0 + 86_400_000 });
    expect(energy).toBe(`slot_start,slot_end,meter,uid,import_wh,export_wh,quality\r\n2026-12-01T08:00:00.000Z,2026-12-01T08:15:00.000Z,"Oven, ""big"" one",${UID},41.7,0,measured\r\n`);
    const events = await csvText(db, { kind: 'events', meters: [meter], from: T0, to: T0 + 86_400_000 });
    expect(events).toBe(`start,meter,uid,kind,duration_ms,extreme_v,seq\r\n2026-12-01T08:00:30.500Z,"Oven, ""big"" one",${UID},dip,60,190.25,1\r\n`);
    await expect(csvText(db, { kind: 'power', meters: [meter], from: T0, to: T0 })).rejects.toThrow(/empty/);
  });
});

async function gzip(text: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
}
