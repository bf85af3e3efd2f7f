/**
 * slcan over a serial port: Web Serial's SerialPort, or anything shaped like it (the demo bus's
 * emulated adapter, a CDC-ACM driver over WebUSB). The codec does the byte work; this file only
 * opens, configures, pumps and closes.
 */
import { errorMessage } from '../../errors';
import type { CanFrame } from '../frame';
import type { CanTransport, DisconnectReason, TransportEvent } from '../transport';
import { bitrateCommand, type SlcanMessage, slcanDecoderStream, slcanEncoderStream } from './codec';

/** The part of the Web Serial `SerialPort` we use, so that emulated ports can stand in. */
export interface SerialPortLike {
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  open(options: SerialOptions): Promise<void>;
  close(): Promise<void>;
}

export interface SlcanOptions {
  bitrate: number;
  /** Open in listen-only mode (`L`): the adapter never acknowledges nor transmits. */
  listenOnly?: boolean;
  /** What the firmware means by S7: 800k on most, 750k on stock CANable 1.0. */
  s7Bitrate?: number;
  label?: string;
  /** Wall-clock source for receive stamps, injectable for tests. */
  now?: () => number;
}

export class AdapterOpenError extends Error {
  override readonly name = 'AdapterOpenError';
  constructor(
    readonly userMessage: string,
    options?: { cause?: unknown },
  ) {
    super(userMessage, options);
  }
}

const encoder = new TextEncoder();
/** USB adapters re-enumerate after a replug; a port may refuse to open for a moment (pybricks #2372). */
const OPEN_RETRY_DELAYS_MS = [100, 250, 500, 1000];

async function openWithRetry(port: SerialPortLike): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      // slcan adapters are USB CDC devices: the baud rate is ignored, but Web Serial requires one.
      await port.open({ baudRate: 115_200, bufferSize: 4096 });
      return;
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'InvalidStateError' && port.readable) return; // already open: reuse it
      const delay = OPEN_RETRY_DELAYS_MS[attempt];
      if (delay === undefined || name === 'NotFoundError') {
        throw new AdapterOpenError(
          name === 'NetworkError'
            ? 'The adapter could not be opened. Is another program or tab using it?'
            : `The adapter could not be opened (${errorMessage(error)}).`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

async function writeCommands(port: SerialPortLike, commands: string): Promise<void> {
  if (!port.writable) throw new AdapterOpenError('The adapter has no output stream.');
  const writer = port.writable.getWriter();
  try {
    await writer.write(encoder.encode(commands));
  } finally {
    writer.releaseLock();
  }
}

/** Opens an slcan adapter on `port` and starts it at the given bit rate. */
export async function openSlcanTransport(port: SerialPortLike, options: SlcanOptions): Promise<CanTransport> {
  const transport = new SlcanSerialTransport(port, options);
  await transport.start();
  return transport;
}

class SlcanSerialTransport implements CanTransport {
  readonly label: string;
  readonly fromBus: ReadableStream<TransportEvent>;
  readonly toBus: WritableStream<CanFrame>;

  #port: SerialPortLike;
  #options: SlcanOptions;
  #now: () => number;
  #events!: ReadableStreamDefaultController<TransportEvent>;
  #encoder = slcanEncoderStream();
  #abort = new AbortController();
  #writePipe: Promise<void> = Promise.resolve();
  #readLoop: Promise<void> = Promise.resolve();
  #state: 'idle' | 'open' | 'closing' | 'closed' = 'idle';

  constructor(port: SerialPortLike, options: SlcanOptions) {
    this.#port = port;
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
    this.label = options.label ?? 'slcan adapter';
    this.fromBus = new ReadableStream<TransportEvent>({
      start: (controller) => {
        this.#events = controller;
      },
      cancel: () => this.close(),
    });
    this.toBus = this.#encoder.writable;
  }

  async start(): Promise<void> {
    this.#emit({ type: 'status', status: 'connecting' });
    try {
      await openWithRetry(this.#port);
      const bitrate = bitrateCommand(this.#options.bitrate, this.#options.s7Bitrate);
      // Close first in case the adapter was left open; replies are optional (stock CANable sends none).
      await writeCommands(this.#port, `C\r${bitrate}${this.#options.listenOnly ? 'L' : 'O'}\r`);
    } catch (error) {
      this.#finish('device-lost', errorMessage(error));
      throw error instanceof AdapterOpenError ? error : new AdapterOpenError('The adapter did not accept its configuration.', { cause: error });
    }
    this.#state = 'open';
    const writable = this.#port.writable;
    if (writable) {
      this.#writePipe = this.#encoder.readable
        .pipeTo(writable, { signal: this.#abort.signal, preventClose: true, preventAbort: true })
        .catch((error: unknown) => {
          if (this.#state === 'open') this.#lost('write-error', error);
        });
    }
    this.#readLoop = this.#read();
    this.#emit({ type: 'status', status: 'connected' });
  }

  async #read(): Promise<void> {
    // A non-fatal serial error (overrun, framing) ends one `readable`; the port then offers a new one.
    while (this.#state === 'open' && this.#port.readable) {
      const decoder = slcanDecoderStream();
      const piping = this.#port.readable.pipeTo(decoder.writable, { signal: this.#abort.signal }).catch(() => undefined);
      const reader = decoder.readable.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          this.#handle(value);
        }
      } catch (error) {
        if (this.#state === 'open') this.#emit({ type: 'warning', message: `read error: ${errorMessage(error)}` });
      } finally {
        reader.releaseLock();
      }
      await piping;
    }
    if (this.#state === 'open') this.#lost('device-lost', new Error('the adapter stopped sending'));
  }

  #handle(message: SlcanMessage): void {
    switch (message.kind) {
      case 'frame':
        this.#emit({ type: 'frame', frame: message.frame, receivedAt: this.#now() });
        break;
      case 'error':
        this.#emit({ type: 'warning', message: 'the adapter refused a command (BELL)' });
        break;
      case 'invalid':
        this.#emit({ type: 'warning', message: `unreadable input: ${message.reason} (${message.text})` });
        break;
      default:
        // Acknowledgements, version and status replies carry nothing the link needs.
        break;
    }
  }

  #lost(reason: DisconnectReason, error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    this.#abort.abort();
    void this.#port.close().catch(() => undefined);
    this.#finish(reason, errorMessage(error));
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closing';
    this.#abort.abort();
    await this.#writePipe;
    await this.#readLoop;
    if (wasOpen && this.#port.writable) {
      // Leave the adapter off the bus, so it stops acknowledging frames nobody reads.
      await writeCommands(this.#port, 'C\r').catch(() => undefined);
    }
    await this.#port.close().catch(() => undefined);
    this.#finish('user');
  }

  #finish(reason: DisconnectReason, detail?: string): void {
    this.#state = 'closed';
    this.#emit(detail ? { type: 'status', status: 'disconnected', reason, detail } : { type: 'status', status: 'disconnected', reason });
    try {
      this.#events.close();
    } catch {
      // already closed or cancelled by the reader
    }
    void this.#encoder.writable.abort(new Error('adapter disconnected')).catch(() => undefined);
  }

  #emit(event: TransportEvent): void {
    try {
      this.#events.enqueue(event);
    } catch {
      // The consumer cancelled the stream; nothing left to tell.
    }
  }
}
