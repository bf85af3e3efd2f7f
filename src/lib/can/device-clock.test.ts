import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceClock } from './device-clock';

describe('DeviceClock', () => {
  it('unwraps stamps into true elapsed time whatever the gaps, given a host clock within a quarter wrap', () => {
    const cases = [
      { tickUs: 1000, wrap: 60_000 }, // slcan ms
      { tickUs: 1, wrap: 0xd693a400 }, // Nakakiyo µs
      { tickUs: 1, wrap: 2 ** 32 }, // gs_usb µs
    ];
    for (const { tickUs, wrap } of cases) {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: wrap - 1 }),
          fc.array(fc.integer({ min: 0, max: 3 * wrap }), { minLength: 1, maxLength: 30 }),
          fc.array(fc.double({ min: -0.2, max: 0.2, noNaN: true }), { minLength: 30, maxLength: 30 }),
          (start, gaps, jitter) => {
            const clock = new DeviceClock(tickUs, wrap);
            let trueTicks = 0;
            expect(clock.toMicros(start, 0)).toBe(0);
            gaps.forEach((gap, i) => {
              trueTicks += gap;
              // The host sees the same moment, off by up to a fifth of a wrap (USB and scheduling latency).
              const hostMs = ((trueTicks + (jitter[i] ?? 0) * wrap) * tickUs) / 1000;
              expect(clock.toMicros((start + trueTicks) % wrap, hostMs)).toBe(trueTicks * tickUs);
            });
          },
        ),
      );
    }
  });

  it('follows a stamp that steps back a little (frames stamped out of order)', () => {
    const clock = new DeviceClock(1000, 60_000);
    clock.toMicros(59_990, 0);
    expect(clock.toMicros(5, 15)).toBe(15_000);
    expect(clock.toMicros(3, 15)).toBe(13_000);
  });
});
