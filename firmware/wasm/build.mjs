#!/usr/bin/env node
// Build firmware/build/wasm/meter.wasm from the portable meter core with
// @yowasp/clang (clang/lld compiled to WebAssembly, run in Node).
//
//   node firmware/wasm/build.mjs [--force] [--quiet]
//
// Works from any directory (paths are resolved from this file). Skips the
// build when meter.wasm is newer than every input (the C sources and
// headers and this script), so it is cheap as a pre-step of npm scripts.
// After building, the module is compiled and its exports are checked
// against the ABI documented in meter_wasm.c.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const fw = path.resolve(here, '..');
const outDir = path.join(fw, 'build', 'wasm');
const outFile = path.join(outDir, 'meter.wasm');

const args = new Set(process.argv.slice(2));
for (const a of args) {
  if (a !== '--force' && a !== '--quiet') {
    console.error(`build.mjs: unknown argument ${a} (use --force, --quiet)`);
    process.exit(2);
  }
}
const force = args.has('--force');
const quiet = args.has('--quiet');

// Sources, relative to firmware/. Headers are picked up from core/.
const sources = [
  'core/meter.c', 'core/meter_can.c', 'core/metrology.c', 'core/fundamental.c', 'core/halfcycle.c',
  'core/harmonics.c', 'core/resample.c', 'core/fft.c', 'core/dsp_tables.c', 'core/proto.c',
  'core/proto_frames.c', 'core/secure.c', 'core/sha256.c', 'core/hmac.c', 'core/hkdf.c', 'core/crc32.c',
  'wasm/meter_wasm.c',
];

// ABI version 3 (see meter_wasm.c).
const ABI_EXPORTS = [
  'memory',
  'ww_config', 'ww_nv', 'ww_nv_size', 'ww_boot', 'ww_nv_dirty',
  'ww_samples', 'ww_sample_capacity', 'ww_feed', 'ww_frame', 'ww_rx', 'ww_tx',
  'ww_vrms', 'ww_irms', 'ww_power', 'ww_frequency', 'ww_window_seq',
  'ww_energy_import_wh', 'ww_energy_export_wh', 'ww_relay_on', 'ww_stat',
  'ww_thd_v', 'ww_thd_i', 'ww_window_flags', 'ww_frequency_10s', 'ww_events_total', 'ww_agg150',
  'ww_set_harmonics_every',
];
// Removed in ABI version 2: a module still exporting them is stale.
const REMOVED_EXPORTS = ['ww_init'];

const cflags = [
  '--target=wasm32', '-std=c11', '-O2', '-nostdlib', '-ffreestanding', '-fno-math-errno',
  '-Wall', '-Wextra', '-Werror', '-Wpedantic', '-Wshadow', '-Wconversion',
  '-Wstrict-prototypes', '-Wmissing-prototypes', '-Wdouble-promotion',
  '-mbulk-memory', '-msimd128', '-Icore',
];
const ldflags = [
  '-Wl,--no-entry',            // a library: exports come from export_name attributes
  '-Wl,--stack-first',         // stack overflow traps instead of overwriting data
  '-Wl,-z,stack-size=16384',
  '-Wl,--initial-memory=131072', // 2 pages, fixed: memory never grows,
  '-Wl,--max-memory=131072',     // so JS views on memory.buffer stay valid
  '-Wl,--strip-debug',
];

async function mtime(p) {
  try {
    return (await stat(p)).mtimeMs;
  } catch {
    return -1;
  }
}

async function inputs() {
  const headers = (await readdir(path.join(fw, 'core')))
    .filter((n) => n.endsWith('.h'))
    .map((n) => `core/${n}`);
  return [...sources, ...headers];
}

function log(msg) {
  if (!quiet) console.log(msg);
}

async function main() {
  const files = await inputs();
  const outTime = await mtime(outFile);
  if (!force && outTime >= 0) {
    const times = await Promise.all([...files.map((f) => mtime(path.join(fw, f))), mtime(fileURLToPath(import.meta.url))]);
    if (times.every((t) => t >= 0 && t < outTime)) {
      const { size } = await stat(outFile);
      log(`meter.wasm up to date (${size} bytes): ${path.relative(process.cwd(), outFile) || outFile}`);
      return;
    }
  }

  const t0 = performance.now();
  // Input tree for the virtual filesystem: { core: {...}, wasm: {...} }
  const tree = {};
  for (const f of files) {
    const [dir, name] = f.split('/');
    tree[dir] ??= {};
    tree[dir][name] = await readFile(path.join(fw, f), 'utf8');
  }
  const { runClang, runLLVM } = await import('@yowasp/clang');
  const toStderr = (bytes) => {
    if (bytes) process.stderr.write(bytes);
  };
  let result;
  try {
    // Load the toolchain resources first without the default progress lines.
    await runLLVM(null, {}, { fetchProgress: () => {} });
    result = await runClang(['clang', ...cflags, ...ldflags, ...sources, '-o', 'meter.wasm'], tree, {
      stdout: toStderr,
      stderr: toStderr,
    });
  } catch (e) {
    console.error(`build.mjs: clang failed${e && e.code !== undefined ? ` (exit ${e.code})` : ''}`);
    if (e && !('code' in e)) console.error(e);
    process.exit(1);
  }
  const wasm = result['meter.wasm'];
  if (!(wasm instanceof Uint8Array)) {
    console.error('build.mjs: clang produced no meter.wasm');
    process.exit(1);
  }

  const mod = await WebAssembly.compile(wasm);
  const exports = WebAssembly.Module.exports(mod).map((e) => e.name);
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`);
  const missing = ABI_EXPORTS.filter((n) => !exports.includes(n));
  const removed = REMOVED_EXPORTS.filter((n) => exports.includes(n));
  if (missing.length || removed.length || imports.length) {
    if (missing.length) console.error(`build.mjs: missing exports: ${missing.join(', ')}`);
    if (removed.length) console.error(`build.mjs: exports removed since ABI v2: ${removed.join(', ')}`);
    if (imports.length) console.error(`build.mjs: unexpected imports (libc?): ${imports.join(', ')}`);
    process.exit(1);
  }

  await mkdir(outDir, { recursive: true });
  await writeFile(outFile, wasm);
  const ms = performance.now() - t0;
  log(`built ${path.relative(process.cwd(), outFile) || outFile}: ${wasm.length} bytes in ${(ms / 1000).toFixed(2)} s`);
}

await main();
