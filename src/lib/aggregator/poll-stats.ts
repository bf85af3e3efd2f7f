/** Reply latency and missed polls per meter, as the installer's screen shows them. */

export interface MeterPollStats {
  readonly node: number;
  /** SNAPSHOT requests sent. */
  readonly asked: number;
  /** Verified SNAPSHOTs that answered a request. */
  readonly answered: number;
  /** Polls that got no reply before the next one. */
  readonly missed: number;
  /** Latest request-to-verified-record time, ms. */
  readonly lastLatencyMs: number | undefined;
  /** Median and maximum over the last LATENCY_WINDOW replies, ms. */
  readonly medianLatencyMs: number | undefined;
  readonly maxLatencyMs: number | undefined;
}

/** Replies the latency figures are taken over. */
export const LATENCY_WINDOW = 60;

interface Entry {
  asked: number;
  answered: number;
  missed: number;
  /** A ring of the last LATENCY_WINDOW latencies. */
  readonly latencies: number[];
  next: number;
  last: number | undefined;
}

export class PollStats {
  readonly #entries = new Map<number, Entry>();

  #entry(node: number): Entry {
    let e = this.#entries.get(node);
    if (!e) {
      e = { asked: 0, answered: 0, missed: 0, latencies: [], next: 0, last: undefined };
      this.#entries.set(node, e);
    }
    return e;
  }

  asked(node: number): void {
    this.#entry(node).asked++;
  }

  missed(node: number): void {
    this.#entry(node).missed++;
  }

  answered(node: number, latencyMs: number): void {
    const e = this.#entry(node);
    e.answered++;
    e.last = latencyMs;
    if (e.latencies.length < LATENCY_WINDOW) e.latencies.push(latencyMs);
    else e.latencies[e.next] = latencyMs;
    e.next = (e.next + 1) % LATENCY_WINDOW;
  }

  of(node: number): MeterPollStats {
    const e = this.#entry(node);
    const sorted = [...e.latencies].sort((a, b) => a - b);
    const median = sorted.length === 0 ? undefined : sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2] : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
    return { node, asked: e.asked, answered: e.answered, missed: e.missed, lastLatencyMs: e.last, medianLatencyMs: median, maxLatencyMs: sorted.at(-1) };
  }
}
