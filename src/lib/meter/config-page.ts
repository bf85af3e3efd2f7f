/**
 * The meter's configuration page (docs/protocol.md §3 "Keys"): 88 bytes at 0x0803F800 written by
 * `meter-provision`; the simulated meters get the same bytes from here.
 */
import { isMeterNode } from './ids';
import { deriveGroupKey, deriveMeterKey, METER_KEY_LENGTH, UID_LENGTH } from './keys';

export const CONFIG_PAGE_LENGTH = 88;
export const CONFIG_PAGE_ADDRESS = 0x0803f800;
export const CONFIG_MAGIC = new Uint8Array([0x57, 0x57, 0x43, 0x46]); // "WWCF"
export const CONFIG_LAYOUT_VERSION = 1;

const OFFSET_VERSION = 4;
const OFFSET_NODE = 6;
const OFFSET_RESERVED = 7;
const OFFSET_UID = 8;
const OFFSET_METER_KEY = 20;
const OFFSET_GROUP_KEY = 52;
const OFFSET_CRC = 84;

export interface ConfigPage {
  /** 1..127. */
  readonly node: number;
  readonly uid: Uint8Array;
  readonly meterKey: Uint8Array;
  readonly groupKey: Uint8Array;
}

export type ConfigPageFailure = 'bad-length' | 'bad-magic' | 'bad-crc' | 'unsupported-version' | 'bad-node';

export type ConfigPageResult =
  | { readonly ok: true; readonly page: ConfigPage }
  | { readonly ok: false; readonly reason: ConfigPageFailure; readonly detail: string };

/** The page provisioning writes for a meter of this site; throws RangeError for a bad node, uid or key. */
export function buildConfigPage(siteKey: Uint8Array, uid: Uint8Array, node: number): Uint8Array {
  return encodeConfigPage({ node, uid, meterKey: deriveMeterKey(siteKey, uid), groupKey: deriveGroupKey(siteKey) });
}

export function encodeConfigPage(page: ConfigPage): Uint8Array {
  if (!isMeterNode(page.node)) throw new RangeError(`node ${page.node} is outside 1..127`);
  if (page.uid.length !== UID_LENGTH) throw new RangeError(`uid is ${page.uid.length} bytes, not ${UID_LENGTH}`);
  if (page.meterKey.length !== METER_KEY_LENGTH || page.groupKey.length !== METER_KEY_LENGTH) {
    throw new RangeError(`keys must be ${METER_KEY_LENGTH} bytes`);
  }
  const bytes = new Uint8Array(CONFIG_PAGE_LENGTH);
  const view = new DataView(bytes.buffer);
  bytes.set(CONFIG_MAGIC, 0);
  view.setUint16(OFFSET_VERSION, CONFIG_LAYOUT_VERSION, true);
  view.setUint8(OFFSET_NODE, page.node);
  view.setUint8(OFFSET_RESERVED, 0);
  bytes.set(page.uid, OFFSET_UID);
  bytes.set(page.meterKey, OFFSET_METER_KEY);
  bytes.set(page.groupKey, OFFSET_GROUP_KEY);
  view.setUint32(OFFSET_CRC, crc32(bytes.subarray(0, OFFSET_CRC)), true);
  return bytes;
}

/**
 * Reads a page; never throws. The CRC is checked before any field, so a torn write reads as
 * `bad-crc` and erased flash (all 0xFF) as `bad-magic`. The reserved byte is ignored on reading.
 */
export function parseConfigPage(bytes: Uint8Array): ConfigPageResult {
  if (bytes.length !== CONFIG_PAGE_LENGTH) {
    return { ok: false, reason: 'bad-length', detail: `a page is ${CONFIG_PAGE_LENGTH} bytes, not ${bytes.length}` };
  }
  for (let i = 0; i < CONFIG_MAGIC.length; i++) {
    if (bytes[i] !== CONFIG_MAGIC[i]) return { ok: false, reason: 'bad-magic', detail: 'no WWCF magic: not provisioned' };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = view.getUint32(OFFSET_CRC, true);
  const computed = crc32(bytes.subarray(0, OFFSET_CRC));
  if (stored !== computed) {
    return { ok: false, reason: 'bad-crc', detail: `CRC 0x${hex32(stored)} does not match the contents (0x${hex32(computed)})` };
  }
  const version = view.getUint16(OFFSET_VERSION, true);
  if (version !== CONFIG_LAYOUT_VERSION) {
    return { ok: false, reason: 'unsupported-version', detail: `layout version ${version} is not ${CONFIG_LAYOUT_VERSION}` };
  }
  const node = view.getUint8(OFFSET_NODE);
  if (!isMeterNode(node)) return { ok: false, reason: 'bad-node', detail: `node ${node} is outside 1..127` };
  return {
    ok: true,
    page: {
      node,
      uid: bytes.slice(OFFSET_UID, OFFSET_UID + UID_LENGTH),
      meterKey: bytes.slice(OFFSET_METER_KEY, OFFSET_METER_KEY + METER_KEY_LENGTH),
      groupKey: bytes.slice(OFFSET_GROUP_KEY, OFFSET_GROUP_KEY + METER_KEY_LENGTH),
    },
  };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as IEEE 802.3 and zlib compute it (reflected 0x04C11DB7, initial and final XOR 0xFFFFFFFF). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return ~crc >>> 0;
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}
