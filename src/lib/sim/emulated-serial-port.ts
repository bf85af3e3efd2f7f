/**
 * A serial port that behaves like Web Serial's SerialPort for the parts our drivers touch:
 * streams exist only while open, `open` twice is an InvalidStateError, an unplug errors the
 * readable with "The device has been lost." and nulls both streams. The device side is a
 * callback for bytes from the host and `deliver()` for bytes to the host.
 *
 * Like Chrome's, the port buffers at most `bufferSize` bytes (open option, default 255) that the
 * page has not read; beyond that the browser stops reading the device, so `space` tells the
 * device emulator how much it may send now, and the rest waits in the adapter's own buffer.
 */
import type { SerialPortLike } from '../can/slcan/serial-transport';

export interface SerialDevice {
  /** Bytes the host wrote, in order. */
  fromHost(bytes: Uint8Array): void;
  /** The host opened (true) or closed (false) the port. */
  hostOpened(open: boolean): void;
  /** The cable was pulled: the device lost power. */
  powerLost?(): void;
}

export class EmulatedSerialPort extends EventTarget implements SerialPortLike {
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  #toHost: ReadableStreamDefaultController<Uint8Array> | null = null;
  #plugged = true;
  #bufferSize = 255;
  #device: SerialDevice;
  readonly info: SerialPortInfo;

  constructor(device: SerialDevice, info: SerialPortInfo = {}) {
    super();
    this.#device = device;
    this.info = info;
  }

  get readable(): ReadableStream<Uint8Array> | null {
    return this.#readable;
  }

  get writable(): WritableStream<Uint8Array> | null {
    return this.#writable;
  }

  get connected(): boolean {
    return this.#plugged;
  }

  get isOpen(): boolean {
    return this.#readable !== null;
  }

  getInfo(): SerialPortInfo {
    return this.info;
  }

  async open(options: SerialOptions): Promise<void> {
    if (!this.#plugged) throw new DOMException('The device has been lost.', 'NetworkError');
    if (this.#readable) throw new DOMException('The port is already open.', 'InvalidStateError');
    if (!(options.baudRate > 0)) throw new TypeError('A baud rate is required.');
    this.#bufferSize = options.bufferSize ?? 255;
    this.#readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#toHost = controller;
        },
        cancel: () => {
          this.#toHost = null;
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: this.#bufferSize }),
    );
    this.#writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        if (!this.#plugged) throw new DOMException('The device has been lost.', 'NetworkError');
        this.#device.fromHost(chunk.slice());
      },
    });
    this.#device.hostOpened(true);
  }

  async close(): Promise<void> {
    if (!this.#readable) throw new DOMException('The port is already closed.', 'InvalidStateError');
    if (this.#readable.locked || this.#writable?.locked) {
      throw new TypeError('Cannot close a serial port while its streams are locked.');
    }
    await this.#readable.cancel().catch(() => undefined);
    await this.#writable?.close().catch(() => undefined);
    this.#readable = null;
    this.#writable = null;
    this.#toHost = null;
    this.#device.hostOpened(false);
  }

  /** Bytes the browser would take from the device now: 0 while closed or when the page lags behind. */
  get space(): number {
    const desired = this.#toHost?.desiredSize ?? 0;
    return Math.max(0, Math.min(this.#bufferSize, desired));
  }

  /** Device → host bytes; dropped when the host has not opened the port (as a real CDC device's are). */
  deliver(bytes: Uint8Array): void {
    try {
      this.#toHost?.enqueue(bytes);
    } catch {
      this.#toHost = null;
    }
  }

  /** The cable is pulled: streams error out, the port is closed, `disconnect` fires. */
  unplug(): void {
    if (!this.#plugged) return;
    this.#plugged = false;
    const lost = new DOMException('The device has been lost.', 'NetworkError');
    try {
      this.#toHost?.error(lost);
    } catch {
      // stream already finished
    }
    const wasOpen = this.#readable !== null;
    this.#readable = null;
    this.#writable = null;
    this.#toHost = null;
    if (wasOpen) this.#device.hostOpened(false);
    this.#device.powerLost?.();
    this.dispatchEvent(new Event('disconnect'));
  }

  /** The cable is back: the port can be opened again, `connect` fires. */
  replug(): void {
    if (this.#plugged) return;
    this.#plugged = true;
    this.dispatchEvent(new Event('connect'));
  }
}
