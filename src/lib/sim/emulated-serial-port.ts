/**
 * A serial port that behaves like Web Serial's SerialPort for the parts our drivers touch:
 * streams exist only while open, `open` twice is an InvalidStateError, an unplug errors the
 * readable with "The device has been lost." and nulls both streams. The device side is a
 * callback for bytes from the host and `deliver()` for bytes to the host.
 */
import type { SerialPortLike } from '../can/slcan/serial-transport';

export interface SerialDevice {
  /** Bytes the host wrote, in order. */
  fromHost(bytes: Uint8Array): void;
  /** The host opened (true) or closed (false) the port. */
  hostOpened(open: boolean): void;
}

export class EmulatedSerialPort extends EventTarget implements SerialPortLike {
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  #toHost: ReadableStreamDefaultController<Uint8Array> | null = null;
  #plugged = true;
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
    this.#readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#toHost = controller;
      },
      cancel: () => {
        this.#toHost = null;
      },
    });
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
    this.#readable = null;
    this.#writable = null;
    this.#toHost = null;
    this.#device.hostOpened(false);
    this.dispatchEvent(new Event('disconnect'));
  }

  /** The cable is back: the port can be opened again, `connect` fires. */
  replug(): void {
    if (this.#plugged) return;
    this.#plugged = true;
    this.dispatchEvent(new Event('connect'));
  }
}
