/**
 * Writes test-vectors/protocol.json, the vectors both the app and the firmware test against.
 * `npx tsx scripts/gen-protocol-vectors.ts`; src/lib/meter/vectors.test.ts fails if the file drifts.
 */
import { writeFileSync } from 'node:fs';
import { buildProtocolVectors, formatVectors } from '../src/lib/meter/vectors';

const path = new URL('../test-vectors/protocol.json', import.meta.url);
const vectors = buildProtocolVectors();
const text = formatVectors(vectors);
writeFileSync(path, text);
console.log(
  `${path.pathname}: ${text.length} bytes, ${vectors.keys.length} keys, ${vectors.messages.length} messages, ${vectors.rejections.length} rejections`,
);
