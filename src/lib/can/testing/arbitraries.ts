/** fast-check arbitraries for the CAN layer's property and fuzz tests. */
import fc from 'fast-check';
import { type CanFrame, dataFrame, MAX_EXTENDED_ID, MAX_STANDARD_ID, remoteFrame } from '../frame';

/** Every classic frame: standard and extended, data and remote, every length. */
export const canFrameArb: fc.Arbitrary<CanFrame> = fc.oneof(
  fc.record({ id: fc.integer({ min: 0, max: MAX_STANDARD_ID }), data: fc.uint8Array({ maxLength: 8 }) }).map(({ id, data }) => dataFrame(id, data)),
  fc.record({ id: fc.integer({ min: 0, max: MAX_EXTENDED_ID }), data: fc.uint8Array({ maxLength: 8 }) }).map(({ id, data }) => dataFrame(id, data, true)),
  fc.record({ id: fc.integer({ min: 0, max: MAX_STANDARD_ID }), dlc: fc.integer({ min: 0, max: 8 }), extended: fc.boolean() }).map(({ id, dlc, extended }) => remoteFrame(id, dlc, extended)),
);

/** Splits bytes into the chunks a USB or serial read might deliver them in. */
export function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}
