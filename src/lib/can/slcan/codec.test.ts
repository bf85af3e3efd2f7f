import { describe, expect, it } from 'vitest';
import { dataFrame, remoteFrame } from '../frame';
import {
  encodeFrame,
  MAX_LINE_LENGTH,
  parseToken,
  type SlcanMessage,
  slcanDecoderStream,
  slcanEncoderStream,
  SlcanTokenizer,
  type SlcanToken,
} from './codec';

const ascii = (text: string) => new TextEncoder().encode(text);

function tokens(bytes: Uint8Array, tokenizer = new SlcanTokenizer()): SlcanToken[] {
  const out: SlcanToken[] = [];
  tokenizer.push(bytes, (t) => out.push(t));
  return out;
}

async function decodeChunks(chunks: Uint8Array[]): Promise<SlcanMessage[]> {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  }).pipeThrough(slcanDecoderStream());
  const out: SlcanMessage[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

describe('encodeFrame', () => {
  // Byte strings from shared/reference/can-adapters.md §1.5.
  it('encodes the reference examples', () => {
    expect(encodeFrame(dataFrame(0x123, [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]))).toBe('t1238DEADBEEF01020304\r');
    expect(encodeFrame(dataFrame(0x18ff50e5, [0xaa, 0x55], true))).toBe('T18FF50E52AA55\r');
    expect(encodeFrame(remoteFrame(0x7df, 8))).toBe('r7DF8\r');
    expect(encodeFrame(remoteFrame(0x123, 0, true))).toBe('R000001230\r');
    expect(encodeFrame(dataFrame(0x123, []))).toBe('t1230\r');
  });

  it('never emits a line feed', () => {
    const text = encodeFrame(dataFrame(0x00a, [0x0a, 0x0d, 0x0a]));
    expect(text).toBe('t00A30A0D0A\r');
    expect(text.includes('\n')).toBe(false);
  });
});

describe('parseToken', () => {
  const line = (text: string) => parseToken({ kind: 'line', text });

  it('reads standard, extended and remote frames', () => {
    expect(line('t1238DEADBEEF01020304')).toEqual({ kind: 'frame', frame: dataFrame(0x123, [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]) });
    expect(line('T18FF50E52AA55')).toEqual({ kind: 'frame', frame: dataFrame(0x18ff50e5, [0xaa, 0x55], true) });
    expect(line('r7DF8')).toEqual({ kind: 'frame', frame: remoteFrame(0x7df, 8) });
    expect(line('t1232aa55')).toEqual({ kind: 'frame', frame: dataFrame(0x123, [0xaa, 0x55]) });
  });

  it('reads millisecond and microsecond timestamps', () => {
    expect(line('t1232AA5503E8')).toEqual({ kind: 'frame', frame: dataFrame(0x123, [0xaa, 0x55]), timestamp: { value: 1000, unit: 'ms' } });
    expect(line('r1230EA5F')).toEqual({ kind: 'frame', frame: remoteFrame(0x123, 0), timestamp: { value: 0xea5f, unit: 'ms' } });
    expect(line('t1231FF000F4240')).toEqual({
      kind: 'frame',
      frame: dataFrame(0x123, [0xff]),
      timestamp: { value: 1_000_000, unit: 'us' },
    });
  });

  it('tells acknowledgements, errors and replies apart', () => {
    expect(line('')).toEqual({ kind: 'ok' });
    expect(line('z')).toEqual({ kind: 'tx-ok' });
    expect(line('Z')).toEqual({ kind: 'tx-ok' });
    expect(parseToken({ kind: 'bell' })).toEqual({ kind: 'error' });
    expect(line('F0C')).toEqual({ kind: 'status-flags', flags: 0x0c });
    expect(line('V1013')).toEqual({ kind: 'version', text: '1013' });
  });

  it.each([
    ['t12', 'frame line too short'],
    ['t12G2AA55', 'identifier is not hex'],
    ['t1239', "data length code '9' is not 0-8"],
    ['t1234AA55', '4 data bytes announced, 2 present'],
    ['t1232AAZZ', 'data is not hex'],
    ['t1232AA55123', 'unexpected trailing characters'],
    ['T200000001AA', 'identifier 536870912 is outside 0..0x1fffffff'],
    ['FZZ', 'status flags are not two hex digits'],
    ['x', 'unknown line'],
  ])('rejects %s with a reason', (text, reason) => {
    expect(line(text)).toEqual({ kind: 'invalid', text, reason });
  });
});

describe('SlcanTokenizer', () => {
  it('ends lines at CR and takes BELL as a token of its own', () => {
    expect(tokens(ascii('t1230\r\x07z\r'))).toEqual([
      { kind: 'line', text: 't1230' },
      { kind: 'bell' },
      { kind: 'line', text: 'z' },
    ]);
  });

  it('joins lines cut across chunks and ignores LF', () => {
    const tokenizer = new SlcanTokenizer();
    expect(tokens(ascii('t12'), tokenizer)).toEqual([]);
    expect(tokenizer.pending).toBe(3);
    expect(tokens(ascii('30\r\n'), tokenizer)).toEqual([{ kind: 'line', text: 't1230' }]);
  });

  it('drops over-long lines and control bytes, then resynchronises', () => {
    const long = 't' + 'A'.repeat(MAX_LINE_LENGTH + 10);
    expect(tokens(ascii(`${long}\r\x01t1230\r`))).toEqual([
      { kind: 'garbage', text: `line over ${MAX_LINE_LENGTH} characters dropped` },
      { kind: 'garbage', text: 'byte 0x01' },
      { kind: 'line', text: 't1230' },
    ]);
  });
});

describe('slcan streams', () => {
  it('decode the same messages however USB cuts the bytes', async () => {
    const text = 't1238DEADBEEF01020304\rz\r\x07r7DF8\rT18FF50E52AA55\r\rt1232AA5503E8\r';
    const whole = await decodeChunks([ascii(text)]);
    expect(whole.map((m) => m.kind)).toEqual(['frame', 'tx-ok', 'error', 'frame', 'frame', 'ok', 'frame']);
    const bytes = ascii(text);
    // Every cut position, and every byte alone.
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await decodeChunks([bytes.slice(0, cut), bytes.slice(cut)])).toEqual(whole);
    }
    expect(await decodeChunks(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(whole);
  });

  it('encode frames to bytes', async () => {
    const out: string[] = [];
    const frames = [dataFrame(0x123, [1, 2]), remoteFrame(0x601, 4)];
    const stream = new ReadableStream({
      start(controller) {
        for (const f of frames) controller.enqueue(f);
        controller.close();
      },
    }).pipeThrough(slcanEncoderStream());
    for await (const chunk of stream) out.push(new TextDecoder().decode(chunk));
    expect(out).toEqual(['t12320102\r', 'r6014\r']);
  });

  it('refuse to encode an invalid frame', async () => {
    const encoder = slcanEncoderStream();
    const reading = encoder.readable.getReader().read();
    const written = encoder.writable.getWriter().write({ id: 0x800, extended: false, remote: false, dlc: 0, data: new Uint8Array() });
    await expect(written).rejects.toThrow('identifier 2048 is outside 0..0x7ff');
    await expect(reading).rejects.toThrow('identifier 2048 is outside 0..0x7ff');
  });
});
