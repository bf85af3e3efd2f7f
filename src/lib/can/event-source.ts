/**
 * The `fromBus` stream of a driver, with backpressure: events are enqueued at once (a status or
 * an error is never held back), and the driver's read loop waits for `room()` before reading more
 * from the device, so a reader that falls behind makes the adapter's own buffers fill (and the
 * adapter report the overflow) instead of the page's memory.
 */
export class EventSource<T> {
  readonly stream: ReadableStream<T>;
  #controller!: ReadableStreamDefaultController<T>;
  #waiters: (() => void)[] = [];
  #ended = false;
  #unblocked = false;

  constructor(onCancel: () => unknown, highWaterMark = 256) {
    this.stream = new ReadableStream<T>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => this.#wake(),
        cancel: () => {
          this.#ended = true;
          this.#wake();
          return Promise.resolve(onCancel()).then(() => undefined);
        },
      },
      new CountQueuingStrategy({ highWaterMark }),
    );
  }

  emit(event: T): void {
    if (this.#ended) return;
    try {
      this.#controller.enqueue(event);
    } catch {
      // The reader cancelled; nothing left to tell.
    }
  }

  /** Resolves once the reader has room (at once if it has, if the stream has ended, or once unblocked). */
  room(): Promise<void> {
    if (this.#ended || this.#unblocked || (this.#controller.desiredSize ?? 1) > 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The driver is closing: nothing waits for the reader any more. */
  unblock(): void {
    this.#unblocked = true;
    this.#wake();
  }

  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wake();
    try {
      this.#controller.close();
    } catch {
      // cancelled already
    }
  }

  #wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
