/**
 * The DBC file decodes the protocol: parse docs/wattwall.dbc as a CAN tool would (multiplexed
 * signals, Intel byte order, factor) and decode every record of the shared test vectors with it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dbc } from './gen-dbc';

interface Signal {
  name: string;
  mux: number | undefined;
  start: number;
  length: number;
  signed: boolean;
  factor: number;
}

const text = readFileSync(new URL('../docs/wattwall.dbc', import.meta.url), 'utf8');

function parse(source: string): Map<number, Signal[]> {
  const messages = new Map<number, Signal[]>();
  let current: Signal[] | undefined;
  for (const line of source.split('\n')) {
    const bo = /^BO_ (\d+) \w+: 8 \w+$/.exec(line);
    if (bo) messages.set(Number(bo[1]), (current = []));
    const sg = /^ SG_ (\w+) (M|m\d+)? ?: (\d+)\|(\d+)@1([+-]) \(([\d.e-]+),0\)/.exec(line);
    if (sg && current) {
      current.push({
        name: sg[1] ?? '',
        mux: sg[2] && sg[2] !== 'M' ? Number(sg[2].slice(1)) : undefined,
        start: Number(sg[3]),
        length: Number(sg[4]),
        signed: sg[5] === '-',
        factor: Number(sg[6]),
      });
    }
  }
  return messages;
}

/** Raw (unscaled) value of a little-endian signal. */
function raw(data: Uint8Array, signal: Signal): number {
  let value = 0;
  for (let i = signal.length / 8 - 1; i >= 0; i--) value = value * 256 + (data[signal.start / 8 + i] ?? 0);
  if (signal.signed && value >= 2 ** (signal.length - 1)) value -= 2 ** signal.length;
  return value;
}

interface VectorMessage {
  name: string;
  node: number;
  function: number;
  id: number;
  fv: number;
  frames: string[];
  decoded: Record<string, number | string>;
}

const vectors = JSON.parse(readFileSync(new URL('../test-vectors/protocol.json', import.meta.url), 'utf8')) as { messages: VectorMessage[] };
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

describe('docs/wattwall.dbc', () => {
  it('is what scripts/gen-dbc.ts generates', () => {
    expect(text).toBe(dbc(Array.from({ length: 32 }, (_, i) => i + 1)));
  });

  const messages = parse(text);
  const decodable = vectors.messages.filter((m) => m.node >= 1 && m.node <= 32 && m.function !== 2);

  it.each(decodable.map((m) => [m.name, m] as const))('decodes "%s" as the vectors say', (_, message) => {
    const signals = messages.get(message.id);
    if (!signals) throw new Error(`no message ${message.id} in the DBC`);
    const seen = new Set<string>();
    for (const frameHex of message.frames) {
      const data = fromHex(frameHex);
      for (const signal of signals.filter((s) => s.mux === data[0])) {
        seen.add(signal.name);
        const expected = signal.name === 'fv' ? message.fv : message.decoded[signal.name];
        if (signal.name.startsWith('uid_')) continue; // split for the DBC; the vectors hold one uid
        expect(raw(data, signal), `${signal.name}`).toBe(expected);
      }
    }
    // Every field of the record was found in some frame.
    for (const field of Object.keys(message.decoded)) {
      if (field === 'uid') expect(seen.has('uid_0') && seen.has('uid_1')).toBe(true);
      else expect(seen.has(field), `${field} decoded`).toBe(true);
    }
  });
});
