/**
 * slcan over a serial port: Web Serial's SerialPort, or anything shaped like it (the demo bus's
 * emulated adapter, the CDC-ACM driver over WebUSB in ../usb/cdc-acm.ts). The codec does the byte
 * work and firmware.ts knows the firmwares; this file opens, identifies, configures, pumps and
 * closes.
 *
 * Never relies on an acknowledgement (stock CANable firmware sends none) and never sends LF. Where
 * the firmware does answer, replies are matched to commands (replies.ts) so that a BELL can be
 * told as "frame refused" or "command refused"; where it reports status flags they are polled; a
 * controller that went bus-off is brought back by closing and reopening the channel when the
 * firmware needs that.
 */
import { errorMessage } from '../../errors';
import { DeviceClock } from '../device-clock';
import { EventSource } from '../event-source';
import { type CanFrame, formatFrame, validated } from '../frame';
import { AdapterOpenError, type BusState, type CanTransport, type DisconnectReason, type TransportEvent } from '../transport';
import { encodeFrame, type SlcanMessage, slcanBatchDecoderStream, SlcanTokenizer } from './codec';
import {
  candidateFirmwares,
  decodeStatusFlags,
  identifyFirmware,
  presetCommand,
  SLCAN_FIRMWARES,
  type SlcanFirmware,
  type SlcanFirmwareId,
  slcanUsbIdentity,
} from './firmware';
import { type PendingCommand, ReplyTracker } from './replies';

export { AdapterOpenError } from '../transport';

/** The part of the Web Serial `SerialPort` we use, so that emulated ports and the CDC-ACM driver can stand in. */
export interface SerialPortLike {
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  open(options: SerialOptions): Promise<void>;
  close(): Promise<void>;
  getInfo?(): SerialPortInfo;
}

export interface SlcanTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SlcanOptions {
  bitrate: number;
  /** Open listen-only: the adapter never acknowledges nor transmits. */
  listenOnly?: boolean;
  /** The firmware, if known; otherwise it is told from the USB id and, if that leaves a choice, the answer to `V`. */
  firmware?: SlcanFirmwareId;
  /** Ask the firmware to stamp received frames where it can (default true). */
  timestamps?: boolean;
  /** Period of `F` status polls where the firmware answers them, ms (default 1000; 0: never). */
  statusPollMs?: number;
  /** How long to wait for the answer to `V` when the USB id leaves the firmware open, ms (default 150). */
  probeTimeoutMs?: number;
  label?: string;
  /** Wall-clock source for receive stamps, injectable for tests. */
  now?: () => number;
  timers?: SlcanTimers;
}

const encoder = new TextEncoder();
/** USB adapters re-enumerate after a replug; a port may refuse to open for a moment (pybricks #2372). */
const OPEN_RETRY_DELAYS_MS = [100, 250, 500, 1000];
/** Host-side buffer: 64 KiB is over 300 ms of a fully loaded 1 Mbit/s bus in slcan text. */
const SERIAL_BUFFER_BYTES = 65_536;
/** Transmissions refused in a row before the driver takes the controller for bus-off. */
const REFUSALS_FOR_BUS_OFF = 3;
const RECOVERY_DELAYS_MS = [100, 500, 1000, 2000, 5000];
const CLOSE_WRITE_TIMEOUT_MS = 500;

const defaultTimers: SlcanTimers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

async function openWithRetry(port: SerialPortLike, timers: SlcanTimers): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      // slcan adapters are USB CDC devices: the baud rate is ignored, but Web Serial requires one.
      await port.open({ baudRate: 115_200, bufferSize: SERIAL_BUFFER_BYTES });
      return;
    } catch (error) {
      if (error instanceof AdapterOpenError) throw error;
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
      await new Promise((resolve) => timers.setTimeout(() => resolve(undefined), delay));
    }
  }
}

/** Opens an slcan adapter on `port` and starts it at the given bit rate. */
export async function openSlcanTransport(port: SerialPortLike, options: SlcanOptions): Promise<CanTransport> {
  const transport = new SlcanSerialTransport(port, options);
  await transport.start();
  return transport;
}

/** A label for an slcan adapter from its USB id and firmware. */
export function slcanLabel(info: SerialPortInfo | undefined, firmware: SlcanFirmware): string {
  const hardware = slcanUsbIdentity(info?.usbVendorId, info?.usbProductId)?.hardware;
  if (!hardware) return firmware.name;
  return firmware.name.startsWith(hardware) ? firmware.name : `${hardware}, ${firmware.name}`;
}

type State = 'idle' | 'starting' | 'open' | 'closing' | 'closed';

class SlcanSerialTransport implements CanTransport {
  label: string;
  readonly fromBus: ReadableStream<TransportEvent>;
  readonly toBus: WritableStream<CanFrame>;

  readonly #port: SerialPortLike;
  readonly #options: SlcanOptions;
  readonly #now: () => number;
  readonly #timers: SlcanTimers;
  readonly #explicitLabel: boolean;
  readonly #events: EventSource<TransportEvent>;
  #toBusController!: WritableStreamDefaultController;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #abort = new AbortController();
  #readLoop: Promise<void> = Promise.resolve();
  #state: State = 'idle';
  #firmware: SlcanFirmware = SLCAN_FIRMWARES.generic;
  #tracker: ReplyTracker;
  #clock: DeviceClock | undefined;
  /** Set while waiting for the answer to `V`. */
  #probe: ((reply: string) => void) | undefined;
  /** Until when a line that is not a frame is taken for the answer to `V` (stock firmwares answer with a bare git id). */
  #versionReplyUntil = -Infinity;
  #statusTimer: unknown;
  #recoveryTimer: unknown;
  #recoveries = 0;
  #lastRecoveryAt = -Infinity;
  #refusalsInRow = 0;
  #busState: BusState | undefined;

  constructor(port: SerialPortLike, options: SlcanOptions) {
    this.#port = port;
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
    this.#timers = options.timers ?? defaultTimers;
    this.#tracker = new ReplyTracker(this.#now);
    this.#explicitLabel = options.label !== undefined;
    this.label = options.label ?? 'slcan adapter';
    this.#events = new EventSource<TransportEvent>(() => this.close());
    this.fromBus = this.#events.stream;
    this.toBus = new WritableStream<CanFrame>({
      start: (controller) => {
        this.#toBusController = controller;
      },
      write: (frame) => this.#transmit(frame),
    });
  }

  /** The firmware the driver settled on. */
  get firmware(): SlcanFirmware {
    return this.#firmware;
  }

  async start(): Promise<void> {
    this.#emit({ type: 'status', status: 'connecting' });
    this.#state = 'starting';
    try {
      await openWithRetry(this.#port, this.#timers);
      const writable = this.#port.writable;
      if (!writable) throw new AdapterOpenError('The adapter has no output stream.');
      this.#writer = writable.getWriter();
      this.#readLoop = this.#read();
      await this.#identify();
      await this.#configure();
    } catch (error) {
      this.#state = 'closing';
      this.#events.unblock();
      this.#abort.abort();
      await this.#readLoop;
      this.#writer?.releaseLock();
      await this.#port.close().catch(() => undefined);
      this.#finish('device-lost', errorMessage(error));
      throw error instanceof AdapterOpenError ? error : new AdapterOpenError('The adapter did not accept its configuration.', { cause: error });
    }
    this.#state = 'open';
    this.#emit({ type: 'status', status: 'connected' });
    this.#scheduleStatusPoll();
  }

  /** Flushes any half command out of the adapter, closes its channel, and asks what it is. */
  async #identify(): Promise<void> {
    const info = this.#port.getInfo?.();
    const candidates = this.#options.firmware ? [this.#options.firmware] : candidateFirmwares(info?.usbVendorId, info?.usbProductId);
    const acknowledging = candidates.some((id) => SLCAN_FIRMWARES[id].acknowledges);
    let reply: Promise<string | undefined> = Promise.resolve(undefined);
    if (candidates.length > 1) {
      reply = new Promise<string | undefined>((resolve) => {
        const timer = this.#timers.setTimeout(() => {
          this.#probe = undefined;
          resolve(undefined);
        }, this.#options.probeTimeoutMs ?? 150);
        this.#probe = (text) => {
          this.#timers.clearTimeout(timer);
          this.#probe = undefined;
          resolve(text);
        };
      });
    }
    if (acknowledging) {
      this.#tracker.sent({ kind: 'maybe', text: '' });
      this.#tracker.sent({ kind: 'maybe', text: 'C' });
      this.#tracker.sent({ kind: 'sync' });
    }
    this.#versionReplyUntil = this.#now() + 2000;
    await this.#write('\rC\rV\r');
    const id = identifyFirmware(candidates, await reply);
    this.#firmware = SLCAN_FIRMWARES[id];
    if (!this.#firmware.acknowledges) this.#tracker.clear();
    if (!this.#explicitLabel) this.label = slcanLabel(info, this.#firmware);
  }

  async #configure(): Promise<void> {
    const firmware = this.#firmware;
    let preset: string;
    try {
      preset = presetCommand(firmware, this.#options.bitrate);
    } catch (error) {
      throw new AdapterOpenError(errorMessage(error), { cause: error });
    }
    const open = this.#options.listenOnly ? firmware.openListenOnly : firmware.openNormal;
    if (!open) throw new AdapterOpenError(`${firmware.name} cannot be opened listen-only by this app. ${firmware.notes}`);
    const stamps = this.#options.timestamps === false ? undefined : firmware.timestamps[0];
    const commands = [preset];
    if (stamps) commands.push(stamps.command);
    else if (firmware.timestampsOff) commands.push(firmware.timestampsOff);
    commands.push(...open);
    this.#clock = stamps ? new DeviceClock(stamps.unit === 'ms' ? 1000 : 1, stamps.wrap) : undefined;
    await this.#commands(commands);
  }

  /** Sends configuration commands, each expecting one reply where the firmware replies. */
  async #commands(commands: readonly string[]): Promise<void> {
    if (this.#firmware.acknowledges) for (const text of commands) this.#tracker.sent({ kind: 'config', text });
    await this.#write(commands.map((c) => `${c}\r`).join(''));
  }

  async #write(text: string): Promise<void> {
    if (!this.#writer) throw new Error('the adapter is not open');
    await this.#writer.write(encoder.encode(text));
  }

  async #transmit(frame: CanFrame): Promise<void> {
    if (this.#state !== 'open') throw new Error('the adapter is not connected');
    const line = encodeFrame(validated(frame));
    if (this.#firmware.acknowledges) this.#tracker.sent({ kind: 'transmit', frame });
    try {
      await this.#write(line);
    } catch (error) {
      this.#lost('write-error', error);
      throw error;
    }
  }

  async #read(): Promise<void> {
    // A non-fatal serial error (overrun, framing) ends one `readable`; the port then offers a new one.
    let ended: ReadableStream<Uint8Array> | undefined;
    // A port that still offers the stream that just ended has stopped: going round again would spin.
    while ((this.#state === 'starting' || this.#state === 'open') && this.#port.readable && this.#port.readable !== ended) {
      const readable = this.#port.readable;
      const tokenizer = new SlcanTokenizer();
      const decoder = slcanBatchDecoderStream(tokenizer);
      const piping = readable.pipeTo(decoder.writable, { signal: this.#abort.signal }).catch(() => undefined);
      const reader = decoder.readable.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const message of value) this.#handle(message);
          // A reader that lags holds back the port, and through it the adapter.
          await this.#events.room();
        }
      } catch (error) {
        if (this.#state === 'open') this.#emit({ type: 'warning', message: `read error: ${errorMessage(error)}` });
      } finally {
        reader.releaseLock();
      }
      await piping;
      ended = readable;
      if (tokenizer.pending > 0 && this.#state === 'open') {
        this.#emit({ type: 'warning', message: `an incomplete line of ${tokenizer.pending} bytes was dropped when the input stopped` });
      }
    }
    if (this.#state === 'open') this.#lost('device-lost', new Error('the adapter stopped sending'));
  }

  #handle(message: SlcanMessage): void {
    const at = this.#now();
    if ((message.kind === 'version' || message.kind === 'invalid') && at <= this.#versionReplyUntil) {
      this.#versionReplyUntil = -Infinity;
      this.#tracker.reply(message);
      this.#probe?.(message.kind === 'version' ? `V${message.text}` : message.text);
      return;
    }
    switch (message.kind) {
      case 'frame': {
        const event: TransportEvent =
          message.timestamp && this.#clock
            ? { type: 'frame', frame: message.frame, receivedAt: at, deviceTimeUs: this.#clock.toMicros(message.timestamp.value, at) }
            : { type: 'frame', frame: message.frame, receivedAt: at };
        this.#emit(event);
        return;
      }
      case 'status-flags':
        this.#tracker.reply(message);
        return this.#statusFlags(message.flags, at);
      case 'bus-state':
        return this.#setBusState(message.state, at, message.txErrors, message.rxErrors);
      case 'bus-errors':
        for (const kind of message.errors) this.#emit({ type: 'bus-error', kind, detail: `the adapter reported a ${kind} error`, at });
        return;
      case 'ok':
      case 'tx-ok':
      case 'error':
      case 'version':
        return this.#reply(message, at);
      case 'invalid': {
        const match = this.#tracker.reply(message);
        if (!match || match.kind === 'unmatched') this.#emit({ type: 'warning', message: `unreadable input: ${message.reason} (${message.text})` });
        return;
      }
      case 'serial':
      case 'tx-event':
        return;
    }
  }

  #reply(message: SlcanMessage, at: number): void {
    const match = this.#firmware.acknowledges ? this.#tracker.reply(message) : undefined;
    if (message.kind !== 'error') {
      if (match?.kind === 'ok' && match.command.kind === 'transmit') this.#refusalsInRow = 0;
      return;
    }
    if (!match || match.kind !== 'refused') {
      // Before the probe's answer a BELL may belong to the last session: no warning for it.
      if (!this.#tracker.awaitingSync) this.#emit({ type: 'warning', message: 'the adapter refused a command (BELL)' });
      return;
    }
    this.#refused(match.command, at);
  }

  #refused(command: PendingCommand, at: number): void {
    switch (command.kind) {
      case 'transmit': {
        this.#refusalsInRow++;
        const why = this.#options.listenOnly ? 'the channel is listen-only' : 'bus-off, or its transmit buffer is full';
        this.#emit({ type: 'bus-error', kind: 'tx-refused', detail: `the adapter refused frame ${formatFrame(command.frame)} (BELL: ${why})`, at });
        if (!this.#options.listenOnly && this.#refusalsInRow >= REFUSALS_FOR_BUS_OFF && this.#busState !== 'bus-off') {
          this.#setBusState('bus-off', at);
        }
        return;
      }
      case 'config':
        this.#emit({ type: 'warning', message: `the adapter refused "${command.text}" (BELL)` });
        return;
      case 'status':
        this.#emit({ type: 'warning', message: 'the adapter refused the status request (BELL)' });
        return;
      case 'maybe':
      case 'sync':
        return;
    }
  }

  #statusFlags(flags: number, at: number): void {
    const kind = this.#firmware.statusFlags;
    if (!kind) return;
    const decoded = decodeStatusFlags(flags, kind);
    if (decoded.rxOverflow) this.#emit({ type: 'bus-error', kind: 'rx-overflow', detail: `the adapter dropped received frames (status flags 0x${hex2(flags)})`, at });
    if (decoded.txOverflow) this.#emit({ type: 'bus-error', kind: 'tx-overflow', detail: `the adapter dropped frames to send (status flags 0x${hex2(flags)})`, at });
    if (decoded.busError) this.#emit({ type: 'bus-error', kind: 'bus-error', detail: `the adapter saw bus errors (status flags 0x${hex2(flags)})`, at });
    // A bus-off suspected from refusals stands until a transmission succeeds or the channel is reopened.
    if (decoded.state === 'error-active' && this.#busState === 'bus-off' && this.#refusalsInRow > 0) return;
    this.#setBusState(decoded.state, at);
  }

  #setBusState(state: BusState, at: number, txErrors?: number, rxErrors?: number): void {
    const changed = state !== this.#busState;
    this.#busState = state;
    if (changed || txErrors !== undefined) {
      this.#emit({ type: 'bus-state', state, at, ...(txErrors !== undefined ? { txErrors } : {}), ...(rxErrors !== undefined ? { rxErrors } : {}) });
    }
    if (state === 'bus-off' && changed) this.#scheduleRecovery();
  }

  /** Bus-off on a firmware that needs the host: close and reopen the channel, backing off if it keeps happening. */
  #scheduleRecovery(): void {
    if (this.#firmware.busOffRecovery !== 'reopen' || this.#state !== 'open' || this.#recoveryTimer !== undefined) return;
    if (this.#now() - this.#lastRecoveryAt > 30_000) this.#recoveries = 0;
    const delay = RECOVERY_DELAYS_MS[Math.min(this.#recoveries, RECOVERY_DELAYS_MS.length - 1)] as number;
    this.#recoveryTimer = this.#timers.setTimeout(() => {
      this.#recoveryTimer = undefined;
      if (this.#state !== 'open') return;
      this.#recoveries++;
      this.#lastRecoveryAt = this.#now();
      this.#refusalsInRow = 0;
      this.#busState = undefined;
      this.#emit({ type: 'warning', message: 'the adapter was bus-off: closing and reopening its channel' });
      void this.#reopen()
        .then(() => {
          // Without status flags nothing will say otherwise; with them the poll tells the truth.
          if (this.#firmware.statusFlags) this.#pollStatus();
          else this.#setBusState('error-active', this.#now());
        })
        .catch(() => undefined);
    }, delay);
  }

  async #reopen(): Promise<void> {
    const firmware = this.#firmware;
    const open = (this.#options.listenOnly ? firmware.openListenOnly : firmware.openNormal) ?? [];
    if (firmware.acknowledges && firmware.repliesToClose) this.#tracker.sent({ kind: 'config', text: 'C' });
    await this.#write('C\r');
    await this.#commands(open);
  }

  #scheduleStatusPoll(): void {
    const period = this.#options.statusPollMs ?? 1000;
    if (!this.#firmware.statusFlags || period <= 0 || this.#state !== 'open') return;
    this.#statusTimer = this.#timers.setTimeout(() => {
      this.#statusTimer = undefined;
      this.#pollStatus();
      this.#scheduleStatusPoll();
    }, period);
  }

  #pollStatus(): void {
    if (!this.#firmware.statusFlags || this.#state !== 'open') return;
    this.#tracker.sent({ kind: 'status' });
    void this.#write('F\r').catch(() => undefined);
  }

  #lost(reason: DisconnectReason, error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    this.#stopTimers();
    this.#events.unblock();
    this.#abort.abort();
    void this.#readLoop.then(async () => {
      this.#writer?.releaseLock();
      await this.#port.close().catch(() => undefined);
    });
    this.#finish(reason, errorMessage(error));
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closing';
    this.#stopTimers();
    this.#events.unblock();
    this.#abort.abort();
    await this.#readLoop;
    if (wasOpen && this.#writer) {
      // Leave the adapter off the bus, so it stops acknowledging frames nobody reads.
      await Promise.race([this.#write('C\r').catch(() => undefined), new Promise((resolve) => this.#timers.setTimeout(() => resolve(undefined), CLOSE_WRITE_TIMEOUT_MS))]);
    }
    this.#writer?.releaseLock();
    await this.#port.close().catch(() => undefined);
    this.#finish('user');
  }

  #stopTimers(): void {
    if (this.#statusTimer !== undefined) this.#timers.clearTimeout(this.#statusTimer);
    if (this.#recoveryTimer !== undefined) this.#timers.clearTimeout(this.#recoveryTimer);
    this.#statusTimer = undefined;
    this.#recoveryTimer = undefined;
  }

  #finish(reason: DisconnectReason, detail?: string): void {
    this.#state = 'closed';
    this.#emit(detail ? { type: 'status', status: 'disconnected', reason, detail } : { type: 'status', status: 'disconnected', reason });
    this.#events.close();
    this.#toBusController.error(new Error('adapter disconnected'));
  }

  #emit(event: TransportEvent): void {
    this.#events.emit(event);
  }
}

function hex2(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}
