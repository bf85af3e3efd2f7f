/**
 * Full backup and restore of a site's history and settings, with the site's secrets (its key and
 * the freshness counters, without which a new tablet could not command the meters).
 *
 * File: NDJSON (a header line, one line per row, a closing line with the row count and the
 * SHA-256 of everything before it), gzip-compressed, optionally encrypted with a passphrase
 * (AES-256-GCM, key from PBKDF2-SHA256). A restore checks the whole file before it touches the
 * database, then replaces the site's rows in one transaction: it either all lands or nothing changes.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js';
import { HISTORY_SCHEMA_VERSION, type HistoryDb, STORE_NAMES, type StoreName } from './schema';

export const BACKUP_FORMAT = 'wattwall-backup';
export const BACKUP_VERSION = 1;
const ENCRYPTED_MAGIC = new TextEncoder().encode('WWBKENC1');
const PBKDF2_ITERATIONS = 600_000;
const BACKUP_PAGE = 200;

/** What only the aggregator knows and the meters depend on. */
export interface SiteSecrets {
  /** 64 hex digits. */
  readonly siteKeyHex: string;
  /** The aggregator's counter reservation (docs/protocol.md §3 Freshness). */
  readonly senderReservedEnd: number | undefined;
  /** The last FV accepted from each meter, by uid. */
  readonly meterFv: Readonly<Record<string, number>>;
}

export interface BackupHeader {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: number;
  readonly schema: number;
  readonly createdAt: string;
  readonly site: string;
  readonly secrets: SiteSecrets | null;
}

export class BackupError extends Error {
  override readonly name = 'BackupError';
}

// ---------------------------------------------------------------------------------------------
// Typed arrays in JSON

type TypedArray = Uint8Array | Uint16Array | Uint32Array | Int16Array | Int32Array | Float32Array | Float64Array;
const TYPED: Record<string, new (buffer: ArrayBuffer) => TypedArray> = { Uint8Array, Uint16Array, Uint32Array, Int16Array, Int32Array, Float32Array, Float64Array };

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function encodeValue(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return { $typed: value.constructor.name, b64: toBase64(bytes) };
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
  if (Array.isArray(value)) return value.map(encodeValue);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeValue(v)]));
  return value;
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$typed === 'string' && typeof o.b64 === 'string') {
      const Ctor = Object.hasOwn(TYPED, o.$typed) ? TYPED[o.$typed] : undefined;
      if (!Ctor) throw new BackupError(`unknown array type ${o.$typed}`);
      let bytes: Uint8Array;
      try {
        bytes = fromBase64(o.b64);
      } catch {
        throw new BackupError(`a ${o.$typed} is not base64`);
      }
      const size = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      if (bytes.length % size !== 0) throw new BackupError(`a ${o.$typed} of ${bytes.length} bytes is not whole ${size}-byte elements`);
      return new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    }
    if (typeof o.$number === 'string') return Number(o.$number);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decodeValue(v)]));
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** The backup's text lines (NDJSON), every store of the site, secrets in the header. */
export async function* backupLines(db: HistoryDb, site: string, secrets: SiteSecrets | null, now = Date.now()): AsyncGenerator<string> {
  const hash = sha256.create();
  const emit = (text: string) => {
    const l = `${text}\n`;
    hash.update(new TextEncoder().encode(l));
    return l;
  };
  const header: BackupHeader = { format: BACKUP_FORMAT, version: BACKUP_VERSION, schema: HISTORY_SCHEMA_VERSION, createdAt: new Date(now).toISOString(), site, secrets };
  yield emit(JSON.stringify(header));
  let rows = 0;
  for (const name of STORE_NAMES) {
    // Pages of rows, each read in its own short transaction: a year of history never sits in
    // memory at once, and no transaction waits on the consumer.
    let after: IDBValidKey | undefined;
    for (;;) {
      const range = after === undefined ? undefined : IDBKeyRange.lowerBound(after, true);
      const tx = db.transaction(name);
      const [keys, values] = await Promise.all([tx.store.getAllKeys(range, BACKUP_PAGE), tx.store.getAll(range, BACKUP_PAGE)]);
      const withKeys = !tx.store.keyPath;
      await tx.done;
      for (let k = 0; k < values.length; k++) {
        const row: Record<string, unknown> = { s: name, v: encodeValue(values[k]) };
        if (withKeys) row.k = encodeValue(keys[k]);
        rows++;
        yield emit(JSON.stringify(row));
      }
      if (values.length < BACKUP_PAGE) break;
      after = keys.at(-1) as IDBValidKey;
    }
  }
  yield `${JSON.stringify({ end: true, rows, sha256: bytesToHex(hash.digest()) })}\n`;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concatBytes(...parts);
    parts.push(value);
  }
}

/** The backup file's bytes: gzip, and AES-GCM over it when a passphrase is given. */
export async function writeBackup(db: HistoryDb, site: string, secrets: SiteSecrets | null, passphrase?: string): Promise<Uint8Array> {
  const lines = backupLines(db, site, secrets);
  const text = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await lines.next();
      if (next.done) controller.close();
      else controller.enqueue(new TextEncoder().encode(next.value));
    },
  });
  const gzipped = await collect(text.pipeThrough(new CompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>));
  return passphrase ? encrypt(gzipped, passphrase) : gzipped;
}

async function deriveKey(passphrase: string, salt: Uint8Array): Promise<CryptoKey> {
  if (passphrase.length < 8) throw new BackupError('a backup passphrase needs at least 8 characters');
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations: PBKDF2_ITERATIONS }, material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

async function encrypt(plain: Uint8Array, passphrase: string): Promise<Uint8Array> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(passphrase, salt);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv as BufferSource }, key, plain as BufferSource));
  const out = new Uint8Array(ENCRYPTED_MAGIC.length + salt.length + iv.length + sealed.length);
  out.set(ENCRYPTED_MAGIC, 0);
  out.set(salt, ENCRYPTED_MAGIC.length);
  out.set(iv, ENCRYPTED_MAGIC.length + 16);
  out.set(sealed, ENCRYPTED_MAGIC.length + 28);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

export function isEncryptedBackup(bytes: Uint8Array): boolean {
  return bytes.length > ENCRYPTED_MAGIC.length && ENCRYPTED_MAGIC.every((b, i) => bytes[i] === b);
}

export interface ParsedBackup {
  readonly header: BackupHeader;
  readonly rows: readonly { readonly store: StoreName; readonly value: unknown; readonly key?: IDBValidKey }[];
}

/** Reads and checks a backup file completely; throws BackupError saying what is wrong. */
export async function readBackup(bytes: Uint8Array, passphrase?: string): Promise<ParsedBackup> {
  let gzipped = bytes;
  if (isEncryptedBackup(bytes)) {
    if (!passphrase) throw new BackupError('this backup is encrypted: give its passphrase');
    const salt = bytes.subarray(8, 24);
    const iv = bytes.subarray(24, 36);
    const key = await deriveKey(passphrase, salt);
    try {
      gzipped = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv as BufferSource }, key, bytes.subarray(36) as BufferSource));
    } catch {
      throw new BackupError('wrong passphrase, or the file was changed');
    }
  }
  let text: string;
  try {
    const plain = await collect(new Blob([gzipped as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>));
    text = new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw new BackupError('this is not a Wattwall backup (not gzip text), or it is damaged');
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = lines[0];
  const last = lines.at(-1);
  if (!first || !last || lines.length < 2) throw new BackupError('the backup is empty or cut short');
  const header = checkedHeader(parseJson(first, 1));
  const end = parseJson(last, lines.length) as { end?: boolean; rows?: number; sha256?: string } | null;
  if (!isObject(end) || end.end !== true) throw new BackupError('the backup is cut short: its closing line is missing');
  const hash = sha256.create();
  for (const l of lines.slice(0, -1)) hash.update(new TextEncoder().encode(`${l}\n`));
  if (bytesToHex(hash.digest()) !== end.sha256) throw new BackupError('the backup is damaged: its checksum does not match');
  if (end.rows !== lines.length - 2) throw new BackupError(`the backup says ${String(end.rows)} rows but holds ${lines.length - 2}`);
  const rows = lines.slice(1, -1).map((l, k) => {
    const row = parseJson(l, k + 2) as { s?: string; v?: unknown; k?: unknown } | null;
    if (!isObject(row)) throw new BackupError(`line ${k + 2} of the backup is not a row`);
    if (!STORE_NAMES.includes(row.s as StoreName)) throw new BackupError(`line ${k + 2}: unknown store ${String(row.s)}`);
    try {
      return { store: row.s as StoreName, value: decodeValue(row.v), ...(row.k === undefined ? {} : { key: decodeValue(row.k) as IDBValidKey }) };
    } catch (error) {
      if (error instanceof BackupError) throw new BackupError(`line ${k + 2}: ${error.message}`);
      throw error;
    }
  });
  return { header, rows };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/**
 * The header, every field checked: a restore installs its secrets after it has replaced the
 * history, so a site key or counter that cannot be used must stop it here, before anything changes.
 */
function checkedHeader(value: unknown): BackupHeader {
  if (!isObject(value) || value.format !== BACKUP_FORMAT) throw new BackupError('this is not a Wattwall backup');
  const { version, schema, createdAt, site, secrets } = value;
  if (!Number.isInteger(version) || (version as number) < 1) throw new BackupError(`the backup's version ${String(version)} is not a version number`);
  if ((version as number) > BACKUP_VERSION) throw new BackupError(`backup version ${String(version)} is newer than this app reads (${BACKUP_VERSION}); update the app`);
  if (!Number.isInteger(schema) || (schema as number) < 1) throw new BackupError(`the backup's history schema ${String(schema)} is not a schema number`);
  if ((schema as number) > HISTORY_SCHEMA_VERSION) throw new BackupError(`the backup's history schema ${String(schema)} is newer than this app's`);
  if (typeof createdAt !== 'string') throw new BackupError('the backup does not say when it was made');
  if (typeof site !== 'string' || !/^[\w.-]{1,64}$/.test(site)) throw new BackupError('the backup does not name its site');
  if (secrets !== null) {
    if (!isObject(secrets)) throw new BackupError('the backup\'s site secrets are not readable');
    if (typeof secrets.siteKeyHex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(secrets.siteKeyHex)) throw new BackupError('the backup does not hold a valid site key');
    if (secrets.senderReservedEnd !== undefined && !isU32(secrets.senderReservedEnd)) throw new BackupError('the backup\'s freshness counter is not a u32');
    if (!isObject(secrets.meterFv) || !Object.values(secrets.meterFv).every(isU32)) throw new BackupError('the backup\'s meters\' freshness values are not u32s');
  }
  return value as unknown as BackupHeader;
}

function parseJson(text: string, lineNumber: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BackupError(`line ${lineNumber} of the backup is not JSON`);
  }
}

/**
 * Replaces every row of the site's database with the backup's, in one transaction: on any
 * failure (a full disk) the database is left as it was.
 */
export async function restoreBackup(db: HistoryDb, backup: ParsedBackup): Promise<{ rows: number }> {
  const tx = db.transaction([...STORE_NAMES], 'readwrite');
  const done = tx.done;
  const writes: Promise<unknown>[] = [];
  for (const name of STORE_NAMES) writes.push(tx.objectStore(name).clear());
  for (const row of backup.rows) {
    const store = tx.objectStore(row.store);
    writes.push(row.key === undefined ? store.put(row.value as never) : store.put(row.value as never, row.key as never));
  }
  try {
    await Promise.all(writes);
    await done;
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // Already aborted by the failure itself.
    }
    await done.catch(() => undefined);
    throw error;
  }
  return { rows: backup.rows.length };
}
