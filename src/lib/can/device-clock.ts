/**
 * Adapters stamp received frames with a short counter that wraps: slcan firmwares after 60 000 ms
 * (4 hex digits) or one hour of µs (Nakakiyo's 8 digits), gs_usb after 2^32 µs (71.6 minutes).
 * DeviceClock turns those stamps into one growing timeline. Counting wraps from the stamps alone
 * fails as soon as the bus is quiet for longer than a wrap, so the host clock, coarse but never
 * wrapping, decides how many wraps lie between two stamps, and the stamp gives the fine part.
 */
export class DeviceClock {
  readonly #tickUs: number;
  readonly #wrap: number;
  #lastTicks: number | undefined;
  #lastHostMs = 0;
  #totalTicks = 0;

  /**
   * @param tickUs length of one counter step in µs (1000 for ms stamps, 1 for µs)
   * @param wrap counter value at which it starts again from 0
   */
  constructor(tickUs: number, wrap: number) {
    if (!(tickUs > 0) || !(wrap > 0)) throw new RangeError('a device clock needs a positive tick and wrap');
    this.#tickUs = tickUs;
    this.#wrap = wrap;
  }

  /** µs since the first stamp of the session. */
  toMicros(ticks: number, hostMs: number): number {
    if (this.#lastTicks === undefined) {
      this.#lastTicks = ticks;
      this.#lastHostMs = hostMs;
      return 0;
    }
    const delta = (((ticks - this.#lastTicks) % this.#wrap) + this.#wrap) % this.#wrap;
    const hostTicks = ((hostMs - this.#lastHostMs) * 1000) / this.#tickUs;
    // Whole wraps the host clock says passed besides `delta`; negative when the stamp stepped back a little.
    const wraps = Math.round((hostTicks - delta) / this.#wrap);
    this.#totalTicks += delta + wraps * this.#wrap;
    this.#lastTicks = ticks;
    this.#lastHostMs = hostMs;
    return this.#totalTicks * this.#tickUs;
  }
}
