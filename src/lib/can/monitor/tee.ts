/**
 * Puts a bus monitor beside a transport: the events from the bus and the frames to it pass
 * through unchanged, and the monitor sees a copy of each. The result is a CanTransport like any
 * other, so the aggregator above it cannot tell the difference. Put it on a driver's transport
 * (inside a reconnecting connection, not outside it) so that what it records as sent was sent.
 */
import type { CanFrame } from '../frame';
import type { CanTransport, TransportEvent } from '../transport';
import type { BusMonitor } from './bus-monitor';

export function teeToMonitor(transport: CanTransport, monitor: BusMonitor, now: () => number = () => Date.now()): CanTransport {
  const fromBus = transport.fromBus.pipeThrough(
    new TransformStream<TransportEvent, TransportEvent>({
      transform(event, controller) {
        monitor.observe(event);
        controller.enqueue(event);
      },
    }),
  );
  let writer: WritableStreamDefaultWriter<CanFrame> | undefined;
  const inner = () => (writer ??= transport.toBus.getWriter());
  const toBus = new WritableStream<CanFrame>({
    async write(frame) {
      await inner().write(frame);
      // Recorded once the driver has taken it: a refused write never shows as sent.
      monitor.transmitted(frame, now());
    },
    async close() {
      await inner().close();
    },
    async abort(reason) {
      await inner().abort(reason);
    },
  });
  return {
    get label() {
      return transport.label;
    },
    fromBus,
    toBus,
    close: () => transport.close(),
  };
}
