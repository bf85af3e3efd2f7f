/**
 * The page's side of the demo bus: the household runs in a worker (demo.worker.ts), so its
 * simulated meters never take the page's thread; the page sees the emulated adapter's serial
 * port, which the real slcan driver opens like any other.
 */
import { concatBytes } from '@noble/hashes/utils.js';
import type { SerialPortLike } from '../can/slcan/serial-transport';
import type { DemoEndpoint, DemoMeterInfo, DemoStart, DemoToPage, PageToDemo } from './demo-messages';

/** Bytes the page asks for at a time: many lines of slcan, few enough to keep each task short. */
const PULL_BYTES = 4096;

export class DemoBusError extends Error {
  override readonly name = 'DemoBusError';
}

export interface DemoBusLink {
  readonly meters: readonly DemoMeterInfo[];
  /** The emulated adapter's serial port. */
  readonly port: SerialPortLike;
  /** Stops the household (the worker ends with it). */
  stop(): void;
}

export interface DemoLinkOptions extends DemoStart {
  /** A meter wrote its flash. */
  readonly saveNv: (nodeId: number, bytes: Uint8Array) => void;
  /** Ends the worker; called by stop(). */
  readonly terminate?: () => void;
  /** Hands over a way to report the worker's failure (an uncaught error): the port's stream ends with it. */
  readonly onFailure?: (report: (error: string) => void) => void;
}

/** Starts the household on the far side of `endpoint`; resolves once its meters are on the bus. */
export function connectDemoBus(endpoint: DemoEndpoint, options: DemoLinkOptions): Promise<DemoBusLink> {
  type Request = 'start' | 'open' | 'close';
  /** The request each answer settles; a `failed` answer names its request itself. */
  const answers = { ready: 'start', opened: 'open', closed: 'close' } as const;
  const waiting = new Map<Request, { resolve: () => void; reject: (error: Error) => void }>();
  let toPage: ReadableStreamDefaultController<Uint8Array> | undefined;
  let delivered: (() => void) | undefined;
  let meters: readonly DemoMeterInfo[] = [];
  const post = (message: PageToDemo, transfer: Transferable[] = []) => endpoint.postMessage(message, transfer);
  const expect = (request: Request) => new Promise<void>((resolve, reject) => waiting.set(request, { resolve, reject }));
  const settle = (request: Request, error?: Error) => {
    const entry = waiting.get(request);
    waiting.delete(request);
    if (error) entry?.reject(error);
    else entry?.resolve();
  };
  let stopped = false;
  let readable: ReadableStream<Uint8Array> | null = null;
  let writable: WritableStream<Uint8Array> | null = null;
  // As a serial port whose device is gone: the stream ends, and the port offers none after it.
  const endStream = (error?: string) => {
    const controller = toPage;
    toPage = undefined;
    if (controller) {
      readable = null;
      writable = null;
    }
    try {
      if (error) controller?.error(new DemoBusError(error));
      else controller?.close();
    } catch {
      // already ended
    }
    delivered?.();
  };

  endpoint.addEventListener('message', (event: MessageEvent) => {
    const message = event.data as DemoToPage;
    switch (message.kind) {
      case 'ready':
        meters = message.meters;
        settle(answers.ready);
        break;
      case 'opened':
      case 'closed':
        settle(answers[message.kind]);
        break;
      case 'data':
        toPage?.enqueue(message.bytes);
        delivered?.();
        break;
      case 'ended':
        endStream(message.error);
        break;
      case 'nv':
        options.saveNv(message.nodeId, message.bytes);
        break;
      case 'failed':
        settle(message.request, new DemoBusError(`the demo bus could not ${message.request}: ${message.error}`));
        break;
    }
  });
  endpoint.start?.();

  const port: SerialPortLike = {
    get readable() {
      return readable;
    },
    get writable() {
      return writable;
    },
    async open(serial) {
      if (readable) throw new DOMException('The port is already open.', 'InvalidStateError');
      const opened = expect('open');
      post({ kind: 'open', baudRate: serial.baudRate });
      await opened;
      readable = new ReadableStream<Uint8Array>({
        start: (controller) => {
          toPage = controller;
        },
        pull: () =>
          new Promise<void>((resolve) => {
            delivered = resolve;
            post({ kind: 'pull', room: PULL_BYTES });
          }),
        cancel: () => {
          toPage = undefined;
          delivered?.();
        },
      });
      // What the page writes in one task goes over in one message, as a USB host sends what was
      // written within a millisecond frame together: the first sweep writes a hundred requests.
      let outgoing: Uint8Array[] = [];
      const flush = () => {
        const bytes = concatBytes(...outgoing);
        outgoing = [];
        post({ kind: 'write', bytes }, [bytes.buffer]);
      };
      writable = new WritableStream<Uint8Array>({
        write: (chunk) => {
          if (outgoing.length === 0) setTimeout(flush, 0);
          outgoing.push(chunk.slice());
        },
      });
    },
    async close() {
      if (stopped) return; // the household is gone, and its port with it
      if (!readable) throw new DOMException('The port is already closed.', 'InvalidStateError');
      if (readable.locked || writable?.locked) throw new TypeError('Cannot close a serial port while its streams are locked.');
      await readable.cancel().catch(() => undefined);
      readable = null;
      writable = null;
      const closed = expect('close');
      post({ kind: 'close' });
      await closed;
    },
    getInfo: () => ({}),
  };

  options.onFailure?.((error) => {
    endStream(`the demo bus failed: ${error}`);
    for (const request of [...waiting.keys()]) settle(request, new DemoBusError(`the demo bus failed: ${error}`));
  });
  const ready = expect('start');
  post({ kind: 'start', bitrate: options.bitrate, siteKey: options.siteKey, startHour: options.startHour, nv: options.nv });
  return ready.then(() => ({
    meters,
    port,
    stop: () => {
      stopped = true;
      endStream();
      for (const request of [...waiting.keys()]) settle(request, new DemoBusError('the demo bus stopped'));
      options.terminate?.();
    },
  }));
}

/** The demo household in its own worker. */
export function startDemoWorker(options: Omit<DemoLinkOptions, 'terminate' | 'onFailure'>): Promise<DemoBusLink> {
  const worker = new Worker(new URL('./demo.worker.ts', import.meta.url), { type: 'module', name: 'demo bus' });
  return connectDemoBus(worker, {
    ...options,
    terminate: () => worker.terminate(),
    onFailure: (report) => worker.addEventListener('error', (event) => report(event.message || 'the worker stopped')),
  }).catch((error: unknown) => {
    worker.terminate();
    throw error;
  });
}
