#!/usr/bin/env node
// The one test command (`npm test`): every check the project has, in the order a failure is
// cheapest to find, then one closing line that counts them all.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.test-output');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = [];
if (!existsSync(chromium)) missing.push(`Chromium (${chromium}; Debian package chromium, or set CHROMIUM_PATH)`);
if (spawnSync('arm-none-eabi-gcc', ['--version']).status !== 0) missing.push('arm-none-eabi-gcc (Debian packages gcc-arm-none-eabi libnewlib-arm-none-eabi)');
if (spawnSync('make', ['--version']).status !== 0 || spawnSync('gcc', ['--version']).status !== 0) missing.push('make and gcc');
if (spawnSync('qemu-system-arm', ['--version']).status !== 0) missing.push('qemu-system-arm (Debian package qemu-system-arm)');
if (spawnSync('mosquitto', ['-h']).status === null) missing.push('mosquitto (Debian package mosquitto: the MQTT broker of the remote-view tests)');
if (missing.length > 0) {
  console.error(`Missing system packages:\n  - ${missing.join('\n  - ')}\nOn Debian or Ubuntu, 'sudo bash .ci/run' installs them and runs the tests.`);
  process.exit(2);
}

let passed = 0;
let failed = 0;
const failures = [];

function run(name, command, args, { env = {}, count } = {}) {
  const started = Date.now();
  console.log(`\n=== ${name}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  let counted = { passed: ok ? 1 : 0, failed: ok ? 0 : 1 };
  if (count) {
    try {
      counted = count();
      if (!ok && counted.failed === 0) counted.failed = 1; // the runner failed outside any test
    } catch {
      counted = { passed: 0, failed: 1 };
    }
  }
  passed += counted.passed;
  failed += counted.failed;
  if (!ok) failures.push(name);
  console.log(`=== ${name}: ${ok ? 'ok' : 'FAILED'} (${counted.passed} passed, ${counted.failed} failed, ${seconds} s)`);
}

const json = (file) => JSON.parse(readFileSync(join(out, file), 'utf8'));

run('meter core to WebAssembly', 'node', ['firmware/wasm/build.mjs']);
run('typecheck (tsc)', 'npx', ['tsc', '--noEmit', '-p', '.']);
run('typecheck (svelte-check)', 'npx', ['svelte-check', '--tsconfig', './tsconfig.json', '--fail-on-warnings']);
run('unit tests (vitest)', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${join(out, 'vitest.json')}`], {
  count: () => {
    const r = json('vitest.json');
    return { passed: r.numPassedTests, failed: r.numFailedTests };
  },
});
run('firmware host build and C unit tests', 'make', ['-C', 'firmware', 'host'], {
  count: () => {
    const log = readFileSync(join(root, 'firmware/build/host/test-results.txt'), 'utf8');
    const m = /^(\d+) passed, (\d+) failed/m.exec(log);
    if (!m) throw new Error('no C test summary');
    return { passed: Number(m[1]), failed: Number(m[2]) };
  },
});
run('firmware for the STM32F107 (arm-none-eabi-gcc)', 'make', ['-C', 'firmware', 'arm']);
run('meter core on a Cortex-M3 under QEMU: results and instruction budget', 'make', ['-C', 'firmware', 'bench']);
run('meter main program under QEMU: superloop, simulated ADC, loopback CAN, polls answered', 'make', ['-C', 'firmware', 'qemu']);
run('the QEMU run\'s records verified by the app\'s protocol code', 'npx', ['vitest', 'run', '--config', 'firmware/qemu/vitest.config.ts', '--reporter=default', '--reporter=json', `--outputFile=${join(out, 'vitest-qemu.json')}`], {
  count: () => {
    const r = json('vitest-qemu.json');
    return { passed: r.numPassedTests, failed: r.numFailedTests };
  },
});
run('app build (vite)', 'npx', ['vite', 'build']);
run('end-to-end tests (Playwright, Chromium)', 'npx', ['playwright', 'test'], {
  env: { E2E_PREBUILT: '1', PLAYWRIGHT_JSON_OUTPUT_FILE: join(out, 'playwright.json') },
  count: () => {
    const r = json('playwright.json');
    return { passed: r.stats.expected + r.stats.flaky, failed: r.stats.unexpected };
  },
});

console.log(`\nFailed stages: ${failures.length ? failures.join('; ') : 'none'}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || failures.length > 0 ? 1 : 0);
