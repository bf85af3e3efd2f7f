#!/usr/bin/env node
// Smoke test of build/wasm/meter.wasm from Node: feed 2 s of a 230 V / 10 A
// 50 Hz sine (PF 1) through the ABI, ask for active power over the CAN
// exchange buffer and print the reply. Exits non-zero if the numbers are off.
//   node firmware/wasm/smoke.mjs      (run `node firmware/wasm/build.mjs` first)
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
// Paper's CVCT front end (defaults of the core): counts per V / per A, mid-scale.
const V_PER_COUNT = ((460 * Math.SQRT2) / 1.5) * (3.3 / 4096);
const A_PER_COUNT = ((30 * Math.SQRT2) / 1.5) * (3.3 / 4096);
const MID = (1.5 / 3.3) * 4096;

x.ww_init(NODE);
const cap = x.ww_sample_capacity();
const samples = new Uint16Array(mem.buffer, x.ww_samples(), 2 * cap);
const frame = new DataView(mem.buffer, x.ww_frame(), 16);

function request() {
  frame.setUint32(0, (0x18 << 6) | NODE, true); // id
  frame.setUint8(4, 4); // dlc
  frame.setUint8(5, 2); // flags: remote
  return x.ww_rx();
}

// Before any window: understood, but not answered.
const early = request();
const earlyTx = x.ww_tx();

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

const used = request();
const sent = x.ww_tx();
const id = frame.getUint32(0, true);
const dlc = frame.getUint8(4);
const flags = frame.getUint8(5);
const mw = frame.getInt32(6, true);

const r = {
  windows, seq: x.ww_window_seq(),
  vrms: x.ww_vrms(), irms: x.ww_irms(), power: x.ww_power(), frequency: x.ww_frequency(),
  import_wh: x.ww_energy_import_wh(), export_wh: x.ww_energy_export_wh(), relay: x.ww_relay_on(),
};
console.log(JSON.stringify(r));
console.log(`before first window: rx=${early} tx=${earlyTx}`);
console.log(`reply: rx=${used} tx=${sent} id=0x${id.toString(16)} dlc=${dlc} flags=${flags} power=${mw} mW`);

const near = (a, b, rel) => Math.abs(a - b) <= rel * Math.abs(b);
const ok =
  early === 1 && earlyTx === 0 && used === 1 && sent === 1 &&
  id === ((0x18 << 6) | NODE) && dlc === 4 && flags === 0 &&
  near(r.vrms, 230, 1e-3) && near(r.irms, 10, 1e-3) && near(r.power, 2300, 2e-3) &&
  near(r.frequency, 50, 1e-4) && near(mw, 2300000, 2e-3) && r.seq === windows && windows >= 8 &&
  r.export_wh === 0 && r.import_wh > 0 && x.ww_tx() === 0;
console.log(ok ? 'smoke: OK' : 'smoke: FAILED');
process.exit(ok ? 0 : 1);
