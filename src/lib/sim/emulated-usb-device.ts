/**
 * A USB device as WebUSB shows it, for the parts our drivers touch, with the device side as a
 * `UsbFunction` (the gs_usb or CDC-ACM firmware emulators).
 *
 * Two objects, as in Chrome: `UsbDeviceEmulator` is the physical device, which is plugged and
 * unplugged; each plug-in gives a new `EmulatedUsbDevice` handle (Chrome's USBDevice), so a driver
 * that holds on to the handle of an earlier plug-in finds it dead, as it would in a browser.
 *
 * Bulk IN follows USB: the device submits a transfer, cut into packets of the endpoint's size; a
 * host transferIn takes whole packets until a short packet ends it or its buffer is full. A device
 * transfer waits (the device NAKs) while the host has no transfer pending, so a slow host makes the
 * device's own buffers fill, as on a real adapter.
 */
import type { UsbConfigurationLike, UsbDeviceLike, UsbEndpointLike, UsbInResult, UsbInterfaceLike, UsbOutResult } from '../can/usb/webusb';

export interface UsbIdentity {
  readonly vendorId: number;
  readonly productId: number;
  readonly serialNumber?: string;
  readonly productName?: string;
  readonly manufacturerName?: string;
}

export type ControlResult = { readonly status: 'ok'; readonly data?: Uint8Array } | { readonly status: 'stall' };

/** The device's firmware, as the emulated USB stack calls it. */
export interface UsbFunction {
  readonly configuration: UsbConfigurationLike;
  /** A control transfer; `data` for OUT, `length` asked for IN. */
  control(setup: USBControlTransferParameters, direction: 'in' | 'out', data: Uint8Array, length: number): ControlResult;
  /** Bytes the host sent to a bulk OUT endpoint; 'stall' halts it. */
  bulkOut(endpointNumber: number, data: Uint8Array): 'ok' | 'stall';
  /** The host claimed (true) or released (false) an interface; released when the handle closes or the cable goes. */
  interfaceClaimed(interfaceNumber: number, claimed: boolean): void;
  /** The device lost power. */
  powerLost(): void;
  /** A new handle is live: the function submits IN data through it. */
  attached(device: EmulatedUsbDevice): void;
}

export interface UsbDeviceEmulatorOptions {
  /** Interfaces a kernel driver holds, so that claiming them fails (Linux cdc_acm or gs_usb, Windows usbser). */
  readonly kernelDriverOn?: readonly number[];
}

/** The physical device: plug and unplug it; `handle` is what the host sees while it is plugged. */
export class UsbDeviceEmulator extends EventTarget {
  readonly identity: UsbIdentity;
  readonly function: UsbFunction;
  #handle: EmulatedUsbDevice | undefined;
  #kernelDriverOn: Set<number>;

  constructor(identity: UsbIdentity, fn: UsbFunction, options: UsbDeviceEmulatorOptions = {}) {
    super();
    this.identity = identity;
    this.function = fn;
    this.#kernelDriverOn = new Set(options.kernelDriverOn ?? []);
    this.#handle = new EmulatedUsbDevice(this);
    fn.attached(this.#handle);
  }

  get plugged(): boolean {
    return this.#handle !== undefined;
  }

  /** The host's handle while plugged in. */
  get handle(): EmulatedUsbDevice | undefined {
    return this.#handle;
  }

  kernelDriverHolds(interfaceNumber: number): boolean {
    return this.#kernelDriverOn.has(interfaceNumber);
  }

  /** The operating system lets go of the interfaces (a udev rule, Android's detach). */
  detachKernelDrivers(): void {
    this.#kernelDriverOn.clear();
  }

  /** The cable is pulled: pending transfers fail, the handle dies, `disconnect` fires with it. */
  unplug(): void {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = undefined;
    handle.kill();
    this.function.powerLost();
    this.dispatchEvent(Object.assign(new Event('disconnect'), { device: handle }));
  }

  /** The cable is back: a fresh handle, `connect` fires with it. */
  replug(): void {
    if (this.#handle) return;
    this.#handle = new EmulatedUsbDevice(this);
    this.function.attached(this.#handle);
    this.dispatchEvent(Object.assign(new Event('connect'), { device: this.#handle }));
  }
}

interface InPacket {
  readonly data: Uint8Array;
  readonly short: boolean;
  readonly submission: Submission;
}

interface Submission {
  remaining: number;
  readonly done: () => void;
}

interface HostTransfer {
  readonly length: number;
  readonly chunks: Uint8Array[];
  received: number;
  readonly resolve: (result: UsbInResult) => void;
  readonly reject: (error: unknown) => void;
}

interface InEndpoint {
  readonly endpoint: UsbEndpointLike;
  readonly interfaceNumber: number;
  packets: InPacket[];
  transfers: HostTransfer[];
  halted: boolean;
}

const lostError = () => new DOMException('The device was disconnected.', 'NotFoundError');
const abortError = () => new DOMException('The transfer was cancelled.', 'AbortError');

/** What the host holds: Chrome's USBDevice, for one plug-in. */
export class EmulatedUsbDevice implements UsbDeviceLike {
  readonly #physical: UsbDeviceEmulator;
  #alive = true;
  #opened = false;
  #configuration: UsbConfigurationLike | null = null;
  #claimed = new Set<number>();
  #in = new Map<number, InEndpoint>();
  #outHalted = new Set<number>();
  #pumping = false;

  constructor(physical: UsbDeviceEmulator) {
    this.#physical = physical;
    const configuration = physical.function.configuration;
    for (const itf of configuration.interfaces) {
      for (const endpoint of itf.alternate.endpoints) {
        if (endpoint.direction === 'in') this.#in.set(endpoint.endpointNumber, { endpoint, interfaceNumber: itf.interfaceNumber, packets: [], transfers: [], halted: false });
      }
    }
  }

  get vendorId(): number {
    return this.#physical.identity.vendorId;
  }
  get productId(): number {
    return this.#physical.identity.productId;
  }
  get serialNumber(): string | null {
    return this.#physical.identity.serialNumber ?? null;
  }
  get productName(): string | null {
    return this.#physical.identity.productName ?? null;
  }
  get manufacturerName(): string | null {
    return this.#physical.identity.manufacturerName ?? null;
  }
  get opened(): boolean {
    return this.#opened;
  }
  get alive(): boolean {
    return this.#alive;
  }

  get configuration(): UsbConfigurationLike | null {
    return this.#configuration ? this.#withClaims(this.#configuration) : null;
  }

  get configurations(): readonly UsbConfigurationLike[] {
    return [this.#withClaims(this.#physical.function.configuration)];
  }

  #withClaims(configuration: UsbConfigurationLike): UsbConfigurationLike {
    return {
      ...configuration,
      interfaces: configuration.interfaces.map((itf): UsbInterfaceLike => ({ ...itf, claimed: this.#claimed.has(itf.interfaceNumber) })),
    };
  }

  #check(): void {
    if (!this.#alive) throw lostError();
  }

  #checkOpen(): void {
    this.#check();
    if (!this.#opened) throw new DOMException('The device must be opened first.', 'InvalidStateError');
  }

  async open(): Promise<void> {
    this.#check();
    this.#opened = true;
  }

  async close(): Promise<void> {
    this.#check();
    for (const number of [...this.#claimed]) this.#release(number);
    this.#opened = false;
    this.#configuration = null;
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.#checkOpen();
    const configuration = this.#physical.function.configuration;
    if (configuration.configurationValue !== configurationValue) throw new DOMException('The configuration value provided is not supported by the device.', 'NotFoundError');
    this.#configuration = configuration;
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.#checkOpen();
    if (!this.#configuration?.interfaces.some((i) => i.interfaceNumber === interfaceNumber)) {
      throw new DOMException('The interface number provided is not supported by the device in its current configuration.', 'NotFoundError');
    }
    if (this.#physical.kernelDriverHolds(interfaceNumber)) throw new DOMException('Unable to claim interface.', 'NetworkError');
    if (this.#claimed.has(interfaceNumber)) return;
    this.#claimed.add(interfaceNumber);
    this.#physical.function.interfaceClaimed(interfaceNumber, true);
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.#checkOpen();
    this.#release(interfaceNumber);
  }

  #release(interfaceNumber: number): void {
    if (!this.#claimed.delete(interfaceNumber)) return;
    for (const ep of this.#in.values()) {
      if (ep.interfaceNumber !== interfaceNumber) continue;
      for (const transfer of ep.transfers.splice(0)) transfer.reject(abortError());
    }
    this.#physical.function.interfaceClaimed(interfaceNumber, false);
  }

  #checkSetup(setup: USBControlTransferParameters): void {
    this.#checkOpen();
    if (setup.recipient === 'interface' && !this.#claimed.has(setup.index & 0xff)) {
      throw new DOMException('The specified interface has not been claimed.', 'InvalidStateError');
    }
  }

  async controlTransferIn(setup: USBControlTransferParameters, length: number): Promise<UsbInResult> {
    this.#checkSetup(setup);
    const result = this.#physical.function.control(setup, 'in', new Uint8Array(0), length);
    if (result.status === 'stall') return { status: 'stall' };
    const data = (result.data ?? new Uint8Array(0)).slice(0, length);
    return { status: 'ok', data: new DataView(data.buffer, data.byteOffset, data.byteLength) };
  }

  async controlTransferOut(setup: USBControlTransferParameters, data?: BufferSource): Promise<UsbOutResult> {
    this.#checkSetup(setup);
    const bytes = data ? toBytes(data) : new Uint8Array(0);
    const result = this.#physical.function.control(setup, 'out', bytes, 0);
    return result.status === 'stall' ? { status: 'stall', bytesWritten: 0 } : { status: 'ok', bytesWritten: bytes.length };
  }

  #endpointInterface(endpointNumber: number, direction: USBDirection): number {
    for (const itf of this.#configuration?.interfaces ?? []) {
      if (itf.alternate.endpoints.some((e) => e.endpointNumber === endpointNumber && e.direction === direction)) return itf.interfaceNumber;
    }
    throw new DOMException('The specified endpoint is not part of a claimed and selected alternate interface.', 'NotFoundError');
  }

  transferIn(endpointNumber: number, length: number): Promise<UsbInResult> {
    try {
      this.#checkOpen();
      const itf = this.#endpointInterface(endpointNumber, 'in');
      if (!this.#claimed.has(itf)) throw new DOMException('The specified endpoint is not part of a claimed and selected alternate interface.', 'NotFoundError');
    } catch (error) {
      return Promise.reject(error);
    }
    const ep = this.#in.get(endpointNumber) as InEndpoint;
    if (ep.halted) return Promise.resolve({ status: 'stall' });
    return new Promise<UsbInResult>((resolve, reject) => {
      ep.transfers.push({ length, chunks: [], received: 0, resolve, reject });
      this.#pump(ep);
    });
  }

  async transferOut(endpointNumber: number, data: BufferSource): Promise<UsbOutResult> {
    this.#checkOpen();
    const itf = this.#endpointInterface(endpointNumber, 'out');
    if (!this.#claimed.has(itf)) throw new DOMException('The specified endpoint is not part of a claimed and selected alternate interface.', 'NotFoundError');
    if (this.#outHalted.has(endpointNumber)) return { status: 'stall', bytesWritten: 0 };
    const bytes = toBytes(data);
    const result = this.#physical.function.bulkOut(endpointNumber, bytes);
    if (result === 'stall') {
      this.#outHalted.add(endpointNumber);
      return { status: 'stall', bytesWritten: 0 };
    }
    return { status: 'ok', bytesWritten: bytes.length };
  }

  async clearHalt(direction: USBDirection, endpointNumber: number): Promise<void> {
    this.#checkOpen();
    if (direction === 'out') this.#outHalted.delete(endpointNumber);
    else {
      const ep = this.#in.get(endpointNumber);
      if (ep) ep.halted = false;
    }
  }

  // ---- device side ----

  /** The host has an IN transfer waiting on this endpoint. */
  hostReading(endpointNumber: number): boolean {
    return (this.#in.get(endpointNumber)?.transfers.length ?? 0) > 0;
  }

  /** Packets the device has submitted on an endpoint that the host has not taken yet. */
  queuedPackets(endpointNumber: number): number {
    return this.#in.get(endpointNumber)?.packets.length ?? 0;
  }

  /**
   * Device → host: one transfer, cut into packets; resolves once the host has taken all of it, or
   * with false if the handle died first (`onTaken` is called at that same moment, synchronously). `zeroLengthPacket` ends a transfer that fills its last
   * packet exactly (the CDC class does; gs_usb frames are never a multiple of the packet size).
   */
  submitIn(endpointNumber: number, data: Uint8Array, zeroLengthPacket = true, onTaken?: () => void): Promise<boolean> {
    const ep = this.#in.get(endpointNumber);
    if (!ep || !this.#alive) return Promise.resolve(false);
    const size = ep.endpoint.packetSize;
    return new Promise<boolean>((resolve) => {
      const packets: Uint8Array[] = [];
      for (let offset = 0; offset < data.length; offset += size) packets.push(data.slice(offset, offset + size));
      const last = packets.at(-1);
      if (!last || (last.length === size && zeroLengthPacket)) packets.push(new Uint8Array(0));
      // onTaken runs at once, as the USB hardware tells the firmware: a device can go on without waiting for the page.
      const submission: Submission = {
        remaining: packets.length,
        done: () => {
          onTaken?.();
          resolve(true);
        },
      };
      for (const packet of packets) ep.packets.push({ data: packet, short: packet.length < size, submission });
      this.#pump(ep);
    });
  }

  /** Halts an IN endpoint: the host's transfers end with 'stall' until it clears the halt. */
  stallIn(endpointNumber: number): void {
    const ep = this.#in.get(endpointNumber);
    if (!ep) return;
    ep.halted = true;
    for (const transfer of ep.transfers.splice(0)) transfer.resolve({ status: 'stall' });
  }

  /**
   * Hands packets to waiting host transfers. A device told that its transfer was taken may submit
   * the next one from within that callback; those callbacks run after the packets are placed, and
   * the loop goes round again for what they submitted.
   */
  #pump(ep: InEndpoint): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const finished: Submission[] = [];
        while (ep.transfers.length > 0 && ep.packets.length > 0) {
          const transfer = ep.transfers[0] as HostTransfer;
          const packet = ep.packets.shift() as InPacket;
          if (--packet.submission.remaining === 0) finished.push(packet.submission);
          if (transfer.received + packet.data.length > transfer.length) {
            // The device sent more than the host asked for: babble; the packet is lost with the transfer.
            ep.transfers.shift();
            transfer.resolve({ status: 'babble', data: joined(transfer.chunks) });
            continue;
          }
          transfer.chunks.push(packet.data);
          transfer.received += packet.data.length;
          if (packet.short || transfer.received === transfer.length) {
            ep.transfers.shift();
            transfer.resolve({ status: 'ok', data: joined(transfer.chunks) });
          }
        }
        if (finished.length === 0) return;
        for (const submission of finished) submission.done();
      }
    } finally {
      this.#pumping = false;
    }
  }

  #consumed(packet: InPacket): void {
    if (--packet.submission.remaining === 0) packet.submission.done();
  }

  /** Called by the physical device on unplug. */
  kill(): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#opened = false;
    for (const ep of this.#in.values()) {
      for (const transfer of ep.transfers.splice(0)) transfer.reject(lostError());
      for (const packet of ep.packets.splice(0)) this.#consumed(packet);
    }
    this.#claimed.clear();
  }
}

function toBytes(data: BufferSource): Uint8Array {
  if (data instanceof Uint8Array) return data.slice();
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  return new Uint8Array(data.slice(0));
}

function joined(chunks: readonly Uint8Array[]): DataView {
  const total = chunks.reduce((sum, c) => sum + c.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return new DataView(out.buffer);
}

/** Small builders for descriptors. */
export function endpoint(endpointNumber: number, direction: USBDirection, type: USBEndpointType, packetSize: number): UsbEndpointLike {
  return { endpointNumber, direction, type, packetSize };
}

export function usbInterface(
  interfaceNumber: number,
  klass: { interfaceClass: number; interfaceSubclass: number; interfaceProtocol: number; interfaceName?: string },
  endpoints: readonly UsbEndpointLike[],
): UsbInterfaceLike {
  const alternate = { alternateSetting: 0, ...klass, interfaceName: klass.interfaceName ?? null, endpoints };
  return { interfaceNumber, alternate, alternates: [alternate], claimed: false };
}
