/**
 * A USB CDC-ACM serial port over WebUSB, shaped like Web Serial's SerialPort, so the slcan driver
 * runs on it unchanged. This is how slcan adapters work on Android tablets, where Web Serial does
 * not see USB serial devices (shared/reference/can-adapters.md §3.1); on a computer the operating
 * system's CDC driver holds the interfaces and Web Serial is the way.
 *
 * After google/web-serial-polyfill's idea of a UnderlyingSource over transferIn and a sink over
 * transferOut: find the communications (class 2) and data (class 10) interfaces, claim them, set
 * the line coding and raise DTR/RTS, then read with one outstanding bulk transfer per pull.
 */
import { AdapterOpenError } from '../transport';
import {
  bytesOf,
  claim,
  findEndpoint,
  findInterface,
  isAborted,
  isDeviceLost,
  openDevice,
  type UsbDeviceLike,
  type UsbEndpointLike,
  type UsbInterfaceLike,
} from './webusb';
import type { SerialPortLike } from '../slcan/serial-transport';

const CDC_COMMUNICATIONS_CLASS = 2;
const CDC_ACM_SUBCLASS = 2;
const CDC_DATA_CLASS = 10;
const SET_LINE_CODING = 0x20;
const SET_CONTROL_LINE_STATE = 0x22;
const DTR_AND_RTS = 0x03;
/** One transfer takes what arrived within a USB frame or so: 16 packets. */
const READ_TRANSFER_BYTES = 16 * 64;
/** Chunks read ahead of the page, like Web Serial's buffer. */
const READ_AHEAD_CHUNKS = 16;

export function isCdcAcm(device: UsbDeviceLike): boolean {
  const configuration = device.configuration ?? device.configurations[0];
  return (configuration?.interfaces ?? []).some((i) => i.alternate.interfaceClass === CDC_DATA_CLASS);
}

export class CdcAcmSerialPort implements SerialPortLike {
  readonly device: UsbDeviceLike;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  #control: UsbInterfaceLike | undefined;
  #data: UsbInterfaceLike | undefined;
  #in: UsbEndpointLike | undefined;
  #out: UsbEndpointLike | undefined;
  #closing = false;

  constructor(device: UsbDeviceLike) {
    this.device = device;
  }

  get readable(): ReadableStream<Uint8Array> | null {
    return this.#readable;
  }

  get writable(): WritableStream<Uint8Array> | null {
    return this.#writable;
  }

  getInfo(): SerialPortInfo {
    return { usbVendorId: this.device.vendorId, usbProductId: this.device.productId };
  }

  async open(options: SerialOptions): Promise<void> {
    if (this.#readable) throw new DOMException('The port is already open.', 'InvalidStateError');
    await openDevice(this.device);
    const control = findInterface(this.device, (a) => a.interfaceClass === CDC_COMMUNICATIONS_CLASS && a.interfaceSubclass === CDC_ACM_SUBCLASS);
    const data = findInterface(this.device, (a) => a.interfaceClass === CDC_DATA_CLASS);
    const inEndpoint = data && findEndpoint(data.alternate, 'in', 'bulk');
    const outEndpoint = data && findEndpoint(data.alternate, 'out', 'bulk');
    if (!data || !inEndpoint || !outEndpoint) {
      throw new AdapterOpenError('This USB device is not a CDC-ACM serial adapter (no data interface with bulk endpoints).');
    }
    const heldBy =
      'the operating system\'s serial driver holds it. Over WebUSB, slcan adapters work on Android and ChromeOS; on a computer choose "slcan adapter (Web Serial)".';
    if (control) await claim(this.device, control.interfaceNumber, heldBy);
    await claim(this.device, data.interfaceNumber, heldBy);
    this.#control = control;
    this.#data = data;
    this.#in = inEndpoint;
    this.#out = outEndpoint;
    if (control) await this.#setLine(control.interfaceNumber, options.baudRate);
    this.#closing = false;
    this.#readable = this.#makeReadable(inEndpoint.endpointNumber);
    this.#writable = this.#makeWritable(outEndpoint.endpointNumber);
  }

  /** Line coding and control lines; adapters ignore the baud rate, some only talk with DTR raised. */
  async #setLine(interfaceNumber: number, baudRate: number): Promise<void> {
    const coding = new Uint8Array(7);
    new DataView(coding.buffer).setUint32(0, baudRate, true);
    coding[6] = 8; // 8 data bits, 1 stop bit, no parity
    const setup = (request: number, value: number): USBControlTransferParameters => ({ requestType: 'class', recipient: 'interface', request, value, index: interfaceNumber });
    try {
      await this.device.controlTransferOut(setup(SET_LINE_CODING, 0), coding);
      await this.device.controlTransferOut(setup(SET_CONTROL_LINE_STATE, DTR_AND_RTS));
    } catch (error) {
      if (isDeviceLost(error)) throw new AdapterOpenError('The adapter went away while it was being opened.', { cause: error });
      // A device that stalls these requests still moves bytes; nothing to do.
    }
  }

  #makeReadable(endpointNumber: number): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            const result = await this.device.transferIn(endpointNumber, READ_TRANSFER_BYTES);
            if (result.status === 'stall') {
              await this.device.clearHalt('in', endpointNumber);
              return;
            }
            const bytes = bytesOf(result);
            // 'babble' (the device sent more than asked) loses that transfer; the next read goes on.
            if (bytes.length > 0 && !this.#closing) controller.enqueue(bytes);
          } catch (error) {
            try {
              if (this.#closing || isAborted(error)) controller.close();
              else controller.error(isDeviceLost(error) ? new DOMException('The device has been lost.', 'NetworkError') : error);
            } catch {
              // cancelled meanwhile
            }
            if (!this.#closing) {
              this.#readable = null;
              this.#writable = null;
            }
          }
        },
        cancel: () => {
          // The pending transfer ends when close() releases the interface.
          this.#closing = true;
        },
      },
      new CountQueuingStrategy({ highWaterMark: READ_AHEAD_CHUNKS }),
    );
  }

  #makeWritable(endpointNumber: number): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: async (bytes) => {
        // Web Serial hands out plain ArrayBuffer-backed chunks; a copy makes that certain.
        const chunk = new Uint8Array(bytes);
        try {
          let result = await this.device.transferOut(endpointNumber, chunk);
          if (result.status === 'stall') {
            await this.device.clearHalt('out', endpointNumber);
            result = await this.device.transferOut(endpointNumber, chunk);
          }
          if (result.status !== 'ok') throw new DOMException(`USB transfer ${result.status}`, 'NetworkError');
        } catch (error) {
          throw isDeviceLost(error) ? new DOMException('The device has been lost.', 'NetworkError') : error;
        }
      },
    });
  }

  async close(): Promise<void> {
    if (!this.#readable && !this.#writable) throw new DOMException('The port is already closed.', 'InvalidStateError');
    if (this.#readable?.locked || this.#writable?.locked) throw new TypeError('Cannot close a serial port while its streams are locked.');
    this.#closing = true;
    await this.#readable?.cancel().catch(() => undefined);
    await this.#writable?.close().catch(() => undefined);
    this.#readable = null;
    this.#writable = null;
    try {
      // Releasing the data interface ends the pending IN transfer; then the device is free for others.
      if (this.#data) await this.device.releaseInterface(this.#data.interfaceNumber);
      if (this.#control) await this.device.releaseInterface(this.#control.interfaceNumber);
      await this.device.close();
    } catch {
      // Gone already: nothing left to release.
    }
  }
}
