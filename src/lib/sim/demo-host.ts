/**
 * The demo bus's side of the page link (it runs in a worker, see demo.worker.ts): builds the
 * simulated household on `start`, and serves the emulated adapter's serial port as bytes. The
 * page pulls: the worker reads the port only when the page has room, so a page that falls behind
 * holds the adapter back exactly as a USB host that stops reading does.
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { errorMessage } from '../errors';
import { DemoBus } from './demo-bus';
import type { DemoEndpoint, DemoToPage, PageToDemo } from './demo-messages';
import { demoHouse } from './scenarios';
import type { NvStore } from './nv-store';

/** The serial buffer the page opens the port with (Web Serial's default). */
const BUFFER_BYTES = 255;

export interface DemoHostOptions {
  readonly loadModule: () => Promise<WebAssembly.Module>;
}

export function serveDemoBus(endpoint: DemoEndpoint, options: DemoHostOptions): { stop(): void } {
  let demo: DemoBus | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  /** Pulls run one after the other: bytes reach the page in the order the adapter sent them. */
  let pulling: Promise<void> = Promise.resolve();
  const send = (message: DemoToPage, transfer: Transferable[] = []) => endpoint.postMessage(message, transfer);

  const start = async (request: Extract<PageToDemo, { kind: 'start' }>) => {
    const flash = new Map(request.nv);
    const nvStore: NvStore = {
      load: (node) => flash.get(node),
      save: (node, bytes) => {
        flash.set(node, bytes);
        send({ kind: 'nv', nodeId: node, bytes: bytes.slice() });
      },
    };
    const scenario = demoHouse(request.startHour);
    demo = new DemoBus({ module: await options.loadModule(), scenario, bitrate: request.bitrate, siteKey: request.siteKey, nvStore });
    demo.start();
    send({ kind: 'ready', meters: scenario.meters.map((m) => ({ nodeId: m.nodeId, name: m.name, kind: m.kind ?? 'load' })) });
  };

  const open = async (baudRate: number) => {
    if (!demo) throw new Error('the demo bus has not started');
    const port = demo.port;
    await port.open({ baudRate, bufferSize: BUFFER_BYTES });
    if (!port.readable || !port.writable) throw new Error('the emulated adapter opened without streams');
    reader = port.readable.getReader();
    writer = port.writable.getWriter();
    send({ kind: 'opened' });
  };

  const pull = async (room: number) => {
    const port = demo?.port;
    const r = reader;
    if (!port || !r) return;
    try {
      const first = await r.read();
      if (reader !== r) return; // closed meanwhile
      if (first.done) {
        send({ kind: 'ended' });
        return;
      }
      const chunks = [first.value];
      let bytes = first.value.length;
      // What else the adapter has queued goes in the same message (a read of a queued chunk resolves at once).
      while (bytes < room && BUFFER_BYTES - port.space > 0) {
        const next = await r.read();
        if (next.done) break;
        chunks.push(next.value);
        bytes += next.value.length;
      }
      const out = concatBytes(...chunks);
      send({ kind: 'data', bytes: out }, [out.buffer]);
    } catch (error) {
      // Released by close(): the page asked for it. Anything else ends the page's stream.
      if (reader === r) send({ kind: 'ended', error: errorMessage(error) });
    }
  };

  const close = async () => {
    const r = reader;
    reader = undefined;
    await r?.cancel().catch(() => undefined);
    r?.releaseLock();
    writer?.releaseLock();
    writer = undefined;
    await pulling;
    if (demo?.port.isOpen) await demo.port.close();
    send({ kind: 'closed' });
  };

  const onMessage = (event: MessageEvent) => {
    const request = event.data as PageToDemo;
    const failed = (error: unknown) => send({ kind: 'failed', request: request.kind === 'start' || request.kind === 'open' ? request.kind : 'close', error: errorMessage(error) });
    switch (request.kind) {
      case 'start':
        start(request).catch(failed);
        break;
      case 'open':
        open(request.baudRate).catch(failed);
        break;
      case 'pull':
        pulling = pulling.then(() => pull(request.room));
        break;
      case 'write':
        // The emulated port takes a write at once; its errors are the adapter's to report.
        writer?.write(request.bytes).catch(() => undefined);
        break;
      case 'close':
        close().catch(failed);
        break;
    }
  };
  endpoint.addEventListener('message', onMessage);
  endpoint.start?.();
  return {
    stop: () => {
      endpoint.removeEventListener('message', onMessage);
      demo?.stop();
    },
  };
}
