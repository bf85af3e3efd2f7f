/** Size of the JavaScript the built app loads before its first screen, gzip-compressed. */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Figures } from './figures';

export function benchBundle(figures: Figures): void {
  const dist = new URL('../dist/', import.meta.url);
  const html = readFileSync(new URL('index.html', dist), 'utf8');
  const scripts = [...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="\/?([^"]+\.js)"/g)].map((m) => m[1] ?? '');
  let raw = 0;
  let gzip = 0;
  for (const file of new Set(scripts)) {
    const bytes = readFileSync(new URL(file, dist));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  // The goal was < 75 KiB until the adapters' drivers joined the shell (they reopen a remembered
  // adapter at start), then < 100. The drivers and the bus monitor now load with the first
  // connection, mqtt.js with the first broker connection, and the demo household in its worker.
  figures.add('app', 'initial_js_gzip_kb', gzip / 1024, 'KiB', '< 85', `${scripts.length} file(s), ${(raw / 1024).toFixed(1)} KiB raw: Svelte, the Now screen, the aggregator, the protocol with its HMAC, the history store and the historian; the adapters' drivers and the bus monitor load with the first connection; the other screens, the tariff and prices, the energy manager, the broker client, Chart.js, the demo bus (a worker) and exports on demand`);
}
