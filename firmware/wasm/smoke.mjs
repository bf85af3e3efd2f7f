#!/usr/bin/env node
// Smoke test of build/wasm/meter.wasm (ABI v2) from Node: provision a meter (configuration page
// built here with node:crypto, independently of the C code), feed 2 s of a 230 V / 10 A 50 Hz
// sine (PF 1), poll a SNAPSHOT with a remote frame and verify its MAC, switch the relay with a
// secured command, then reboot from the nonvolatile blob. Exits non-zero if anything is off.
//   node firmware/wasm/smoke.mjs      (run `node firmware/wasm/build.mjs` first)
import { createHmac, hkdfSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmPath = path.resolve(here, '..', 'build', 'wasm', 'meter.wasm');
const { instance } = await WebAssembly.instantiate(await readFile(wasmPath));
const x = instance.exports;
const mem = x.memory;

const NODE = 5;
const FS = 6400;
const RELAY = 0, ACK = 3, SNAPSHOT = 4;
// Paper's CVCT front end (defaults of the core): counts per V / per A, mid-scale.
const V_PER_COUNT = ((460 * Math.SQRT2) / 1.5) * (3.3 / 4096);
const A_PER_COUNT = ((30 * Math.SQRT2) / 1.5) * (3.3 / 4096);
const MID = (1.5 / 3.3) * 4096;

// ---- keys and configuration page (docs/protocol.md section 3)
const siteKey = Buffer.alloc(32, 0x5a);
const uid = Buffer.from('0102030405060708090a0b0c', 'hex');
const meterKey = Buffer.from(hkdfSync('sha256', siteKey, 'wattwall meter key v1', uid, 32));
const groupKey = Buffer.from(hkdfSync('sha256', siteKey, 'wattwall group key v1', Buffer.alloc(0), 32));

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const page = Buffer.alloc(88);
page.write('WWCF', 0, 'latin1');
page.writeUInt16LE(1, 4);
page[6] = NODE;
uid.copy(page, 8);
meterKey.copy(page, 20);
groupKey.copy(page, 52);
page.writeUInt32LE(crc32(page.subarray(0, 84)), 84);

// ---- secured messages (section 2 and 3)
const id = (fn, node) => (fn << 7) | node;
const mac = (key, canId, payload, fv) => {
  const input = Buffer.alloc(2 + payload.length + 4);
  input.writeUInt16LE(canId, 0);
  payload.copy(input, 2);
  input.writeUInt32LE(fv, 2 + payload.length);
  return createHmac('sha256', key).update(input).digest().subarray(0, 8);
};
function frames(canId, payload, fv) {
  const body = Buffer.concat([payload, Buffer.alloc(4), mac(meterKey, canId, payload, fv)]);
  body.writeUInt32LE(fv, payload.length);
  const last = Math.ceil(body.length / 7) - 1;
  const out = [];
  for (let i = 0; i <= last; i++) out.push(Buffer.concat([Buffer.from([(i << 4) | last]), body.subarray(7 * i, 7 * i + 7)]));
  return out;
}

const frame = () => new DataView(mem.buffer, x.ww_frame(), 16);
function put(canId, data, remote) {
  const f = frame();
  f.setUint32(0, canId, true);
  f.setUint8(4, remote ? 8 : data.length);
  f.setUint8(5, remote ? 2 : 0);
  for (let k = 0; k < 8; k++) f.setUint8(6 + k, data[k] ?? 0);
  return x.ww_rx();
}
// Everything the meter queued, reassembled and verified: [{ fn, fv, payload }]
function collect() {
  const messages = [];
  let body = [];
  while (x.ww_tx()) {
    const f = frame();
    const canId = f.getUint32(0, true);
    const data = Buffer.from(new Uint8Array(mem.buffer, x.ww_frame() + 6, f.getUint8(4)));
    const index = data[0] >> 4, last = data[0] & 15;
    if (index === 0) body = [];
    body.push(data.subarray(1));
    if (index !== last) continue;
    const b = Buffer.concat(body);
    const payload = b.subarray(0, b.length - 12);
    const fv = b.readUInt32LE(b.length - 12);
    const ok = mac(meterKey, canId, payload, fv).equals(b.subarray(b.length - 8));
    messages.push({ fn: canId >> 7, node: canId & 127, fv, payload, ok });
  }
  return messages;
}

const before = put(id(SNAPSHOT, NODE), [], true); // not booted: inert
new Uint8Array(mem.buffer, x.ww_config(), 88).set(page);
const booted = x.ww_boot(1);
const firstDirty = x.ww_nv_dirty();
const early = put(id(SNAPSHOT, NODE), [], true);
const earlyTx = collect().length;

const cap = x.ww_sample_capacity();
const samples = new Uint16Array(mem.buffer, x.ww_samples(), 2 * cap);
let n = 0;
let windows = 0;
const total = 2 * FS;
while (n < total) {
  const k = Math.min(cap, total - n);
  for (let j = 0; j < k; j++, n++) {
    const th = (2 * Math.PI * 50 * n) / FS;
    samples[2 * j] = Math.round(MID + (230 * Math.SQRT2 * Math.sin(th)) / V_PER_COUNT);
    samples[2 * j + 1] = Math.round(MID + (10 * Math.SQRT2 * Math.sin(th)) / A_PER_COUNT);
  }
  windows += x.ww_feed(k);
}

const r = {
  windows, seq: x.ww_window_seq(), vrms: x.ww_vrms(), irms: x.ww_irms(), power: x.ww_power(),
  frequency: x.ww_frequency(), import_wh: x.ww_energy_import_wh(), export_wh: x.ww_energy_export_wh(),
};
const used = put(id(SNAPSHOT, NODE), [], true);
const [snap] = collect();
const s = snap?.payload;
const snapshot = s && {
  fv: snap.fv, verified: snap.ok, time_s: s.readUInt32LE(0), vrms: s.readUInt16LE(5) / 100,
  p: s.readInt32LE(7) / 1000, irms: s.readUInt16LE(11) / 1000, flags: s[13], f: s.readUInt16LE(21) / 1000,
};

for (const data of frames(id(RELAY, NODE), Buffer.from([0]), 7)) put(id(RELAY, NODE), data, false);
const [ack] = collect();
const relayOff = x.ww_relay_on();
const blob = new Uint8Array(mem.buffer, x.ww_nv(), x.ww_nv_size()).slice();
const dirtyAfterCommand = x.ww_nv_dirty();

// power loss: reboot from the saved blob
new Uint8Array(mem.buffer, x.ww_nv(), blob.length).set(blob);
const rebooted = x.ww_boot(0);
const stats = {
  boots: x.ww_stat(6), lastAccepted: x.ww_stat(1), txFv: x.ww_stat(0), import_wh: x.ww_energy_import_wh(),
};

console.log(JSON.stringify(r));
console.log(`before boot: rx=${before}; boot=${booted} nv dirty=${firstDirty}; before first window: rx=${early} tx=${earlyTx}`);
console.log(`snapshot: rx=${used} ${JSON.stringify(snapshot)}`);
console.log(`relay off: ack fn=${ack?.fn} verified=${ack?.ok} result=${ack?.payload[6]} relay_on=${relayOff} nv dirty=${dirtyAfterCommand}`);
console.log(`reboot: ${rebooted} ${JSON.stringify(stats)} (nv ${blob.length} bytes)`);

const near = (a, b, rel) => Math.abs(a - b) <= rel * Math.abs(b);
const ok =
  before === 0 && booted === 1 && firstDirty === 1 && early === 1 && earlyTx === 0 && used === 1 &&
  snapshot?.verified && snapshot.fv === 1 && (snapshot.flags & 1) === 1 &&
  near(snapshot.vrms, 230, 2e-3) && near(snapshot.irms, 10, 2e-3) && near(snapshot.p, 2300, 3e-3) && near(snapshot.f, 50, 1e-3) &&
  near(r.vrms, 230, 1e-3) && near(r.irms, 10, 1e-3) && near(r.power, 2300, 2e-3) &&
  near(r.frequency, 50, 1e-4) && r.seq === windows && windows >= 8 && r.export_wh === 0 && r.import_wh > 0 &&
  ack?.fn === ACK && ack.ok && ack.fv === 2 && ack.payload.readUInt32LE(0) === 7 && ack.payload[6] === 0 &&
  relayOff === 0 && dirtyAfterCommand === 1 &&
  rebooted === 1 && stats.boots === 2 && stats.lastAccepted === 7 && stats.txFv >= 256 &&
  stats.import_wh <= r.import_wh && stats.import_wh > r.import_wh - 1 && x.ww_tx() === 0;
console.log(ok ? 'smoke: OK' : 'smoke: FAILED');
process.exit(ok ? 0 : 1);
