/**
 * Backups under fuzzing. A backup file comes from anywhere (another tablet, an old version, a
 * mangled download), and its checksum only proves it was not changed after it was written, not
 * that its writer was this app. So: files with a valid checksum but any content are read or
 * refused with a BackupError (never another exception, never a header whose secrets would fail
 * after the history was already replaced); what the app writes reads back exactly, typed arrays
 * and non-finite numbers included.
 */
import 'fake-indexeddb/auto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applySiteSecrets } from '../aggregator/site';
import { BACKUP_FORMAT, BACKUP_VERSION, BackupError, readBackup, type ParsedBackup, writeBackup } from './backup';
import { HISTORY_SCHEMA_VERSION, openHistory, STORE_NAMES } from './schema';

let n = 0;

async function gzip(text: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
}

/** A file whose checksum and row count are right, whatever its lines say. */
async function sealedFile(lines: readonly string[]): Promise<Uint8Array> {
  const hash = sha256.create();
  for (const l of lines) hash.update(new TextEncoder().encode(`${l}\n`));
  return gzip(`${lines.join('\n')}\n${JSON.stringify({ end: true, rows: lines.length - 1, sha256: bytesToHex(hash.digest()) })}\n`);
}

/** Reads a file: a parsed backup, or a BackupError and nothing else. */
async function readOrRefuse(bytes: Uint8Array, passphrase?: string): Promise<ParsedBackup | undefined> {
  try {
    return await readBackup(bytes, passphrase);
  } catch (error) {
    expect(error).toBeInstanceOf(BackupError);
    expect((error as Error).message.length).toBeGreaterThan(0);
    return undefined;
  }
}

const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const secretsArb = fc.oneof(
  fc.constant(null),
  fc.record({ siteKeyHex: fc.oneof(hex64, fc.string({ maxLength: 70 }), junk), senderReservedEnd: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constant(undefined), junk), meterFv: fc.oneof(fc.dictionary(fc.stringMatching(/^[0-9a-f]{24}$/), fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), junk), { maxKeys: 3 }), junk) }),
  junk,
);
const headerArb = fc.oneof(
  fc.record({
    format: fc.oneof(fc.constant(BACKUP_FORMAT), junk),
    version: fc.oneof(fc.constant(BACKUP_VERSION), fc.integer({ min: -2, max: 3 }), junk),
    schema: fc.oneof(fc.constant(HISTORY_SCHEMA_VERSION), fc.integer({ min: -2, max: HISTORY_SCHEMA_VERSION + 2 }), junk),
    createdAt: fc.oneof(fc.constant('2026-12-01T08:00:00.000Z'), junk),
    site: fc.oneof(fc.stringMatching(/^[0-9a-f]{8}$/), fc.string({ maxLength: 70 }), junk),
    secrets: secretsArb,
  }),
  junk,
);
const b64 = fc.uint8Array({ maxLength: 24 }).map((b) => btoa(String.fromCharCode(...b)));
const valueArb = fc.oneof(
  junk,
  fc.record({ $typed: fc.constantFrom('Uint8Array', 'Uint16Array', 'Float32Array', 'Float64Array', 'Int32Array', 'BigInt64Array', 'constructor', '__proto__'), b64: fc.oneof(b64, fc.string({ maxLength: 12 })) }),
  fc.record({ $number: fc.oneof(fc.constantFrom('Infinity', '-Infinity', 'NaN'), fc.string({ maxLength: 6 })) }),
  fc.record({ uid: fc.string({ maxLength: 4 }), samples: fc.oneof(fc.record({ $typed: fc.constant('Float32Array'), b64 }), junk) }),
);
const rowArb = fc.oneof(fc.record({ s: fc.oneof(fc.constantFrom(...STORE_NAMES), junk), v: valueArb, k: fc.oneof(fc.constant(undefined), valueArb) }), junk);

describe('backups under fuzzing', () => {
  it('a file with a valid checksum and any header and rows is read or refused with a BackupError', async () => {
    await fc.assert(
      fc.asyncProperty(headerArb, fc.array(rowArb, { maxLength: 6 }), async (header, rows) => {
        const parsed = await readOrRefuse(await sealedFile([JSON.stringify(header) ?? 'undefined', ...rows.map((r) => JSON.stringify(r) ?? 'null')]));
        if (!parsed) return;
        expect(parsed.rows).toHaveLength(rows.length);
        for (const row of parsed.rows) expect(STORE_NAMES).toContain(row.store);
        // Whatever it accepted, its secrets can be installed: nothing fails after the history is replaced.
        const kv = new Map<string, string>();
        if (parsed.header.secrets) applySiteSecrets(parsed.header.secrets, { getItem: (k) => kv.get(k) ?? null, setItem: (k, v) => void kv.set(k, v) });
        for (const v of kv.values()) expect(v).not.toMatch(/NaN|undefined/);
      }),
      { numRuns: 400 },
    );
  });

  it('any text, gzipped or not, is read or refused with a BackupError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.array(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), { maxLength: 5 }).map((l) => l.join('\n'))), fc.boolean(), async (text, zipped) => {
        await readOrRefuse(zipped ? await gzip(text) : new TextEncoder().encode(text));
      }),
      { numRuns: 300 },
    );
  });

  it('reads back exactly what it wrote: any settings values, typed arrays and non-finite numbers included', async () => {
    const typed = fc.oneof(
      fc.uint8Array({ maxLength: 16 }),
      fc.float32Array({ maxLength: 8 }),
      fc.float64Array({ maxLength: 8 }),
      fc.int32Array({ maxLength: 8 }),
      fc.uint16Array({ maxLength: 8 }),
    );
    const setting = fc.oneof(fc.jsonValue({ maxDepth: 2 }), typed, fc.constantFrom(Infinity, -Infinity, NaN), fc.record({ series: typed, peak: fc.double() }));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), setting, { maxKeys: 6 }), async (settings) => {
        const db = await openHistory(`backup-fuzz-${++n}`);
        const tx = db.transaction('settings', 'readwrite');
        for (const [k, v] of Object.entries(settings)) void tx.store.put(v, k);
        await tx.done;
        const parsed = await readBackup(await writeBackup(db, 'abcd0123', { siteKeyHex: '22'.repeat(32), senderReservedEnd: 77, meterFv: {} }));
        db.close();
        const back = Object.fromEntries(parsed.rows.filter((r) => r.store === 'settings').map((r) => [r.key as string, r.value]));
        expect(back).toEqual(Object.fromEntries(Object.entries(settings)));
      }),
      { numRuns: 60 },
    );
  });

  it('an encrypted backup with any byte changed, or the wrong passphrase, is refused with a BackupError', async () => {
    // PBKDF2 at 600 000 rounds costs a noticeable fraction of a second: a few cases.
    const db = await openHistory(`backup-fuzz-${++n}`);
    const file = await writeBackup(db, 'abcd0123', null, 'correct horse battery');
    db.close();
    await fc.assert(
      fc.asyncProperty(fc.nat(file.length - 1), fc.integer({ min: 1, max: 255 }), fc.string({ maxLength: 12 }), async (at, flip, wrong) => {
        const changed = Uint8Array.from(file);
        changed[at] = (changed[at] ?? 0) ^ flip;
        expect(await readOrRefuse(changed, 'correct horse battery')).toBeUndefined();
        if (wrong !== 'correct horse battery') expect(await readOrRefuse(file, wrong)).toBeUndefined();
      }),
      { numRuns: 4 },
    );
  });
});
