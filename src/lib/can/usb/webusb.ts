/**
 * The part of WebUSB's USBDevice the drivers use, so that an emulated device can stand in, and the
 * few helpers every USB driver needs: finding interfaces and endpoints, claiming them with an
 * error a person can act on, and telling a lost device from a transient transfer error.
 */
import { errorMessage } from '../../errors';
import { AdapterOpenError } from '../transport';

/** The result of an IN transfer, as WebUSB's USBInTransferResult has it. */
export interface UsbInResult {
  readonly status?: USBTransferStatus;
  readonly data?: DataView;
}

/** The result of an OUT transfer, as WebUSB's USBOutTransferResult has it. */
export interface UsbOutResult {
  readonly status?: USBTransferStatus;
  readonly bytesWritten: number;
}

export interface UsbEndpointLike {
  readonly endpointNumber: number;
  readonly direction: USBDirection;
  readonly type: USBEndpointType;
  readonly packetSize: number;
}

export interface UsbAlternateLike {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly interfaceName?: string | null;
  readonly endpoints: readonly UsbEndpointLike[];
}

export interface UsbInterfaceLike {
  readonly interfaceNumber: number;
  readonly alternate: UsbAlternateLike;
  readonly alternates: readonly UsbAlternateLike[];
  readonly claimed: boolean;
}

export interface UsbConfigurationLike {
  readonly configurationValue: number;
  readonly configurationName?: string | null;
  readonly interfaces: readonly UsbInterfaceLike[];
}

export interface UsbDeviceLike {
  readonly vendorId: number;
  readonly productId: number;
  readonly serialNumber?: string | null;
  readonly productName?: string | null;
  readonly manufacturerName?: string | null;
  readonly opened: boolean;
  readonly configuration: UsbConfigurationLike | null;
  readonly configurations: readonly UsbConfigurationLike[];
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  controlTransferIn(setup: USBControlTransferParameters, length: number): Promise<UsbInResult>;
  controlTransferOut(setup: USBControlTransferParameters, data?: BufferSource): Promise<UsbOutResult>;
  transferIn(endpointNumber: number, length: number): Promise<UsbInResult>;
  transferOut(endpointNumber: number, data: BufferSource): Promise<UsbOutResult>;
  clearHalt(direction: USBDirection, endpointNumber: number): Promise<void>;
}

/** The part of `navigator.usb` the connection manager uses. */
export interface UsbApi {
  requestDevice(options: USBDeviceRequestOptions): Promise<UsbDeviceLike>;
  getDevices(): Promise<UsbDeviceLike[]>;
  addEventListener(type: 'connect' | 'disconnect', listener: (event: Event) => void): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: (event: Event) => void): void;
}

/** The device a `connect`/`disconnect` event of navigator.usb is about. */
export function eventDevice(event: Event): UsbDeviceLike | undefined {
  return 'device' in event ? (event.device as UsbDeviceLike) : undefined;
}

export function webUsb(nav: Navigator | undefined = globalThis.navigator): UsbApi | undefined {
  return nav && 'usb' in nav && nav.usb ? (nav.usb as unknown as UsbApi) : undefined;
}

/** The first interface of the active configuration whose alternate matches `test`. */
export function findInterface(device: UsbDeviceLike, test: (alternate: UsbAlternateLike) => boolean): UsbInterfaceLike | undefined {
  return device.configuration?.interfaces.find((i) => test(i.alternate));
}

export function findEndpoint(alternate: UsbAlternateLike, direction: USBDirection, type: USBEndpointType): UsbEndpointLike | undefined {
  return alternate.endpoints.find((e) => e.direction === direction && e.type === type);
}

/** Opens the device and selects its first configuration, unless that is done already. */
export async function openDevice(device: UsbDeviceLike): Promise<void> {
  try {
    if (!device.opened) await device.open();
    const first = device.configurations[0];
    if (device.configuration === null && first) await device.selectConfiguration(first.configurationValue);
  } catch (error) {
    throw new AdapterOpenError(openFailureMessage(error), { cause: error });
  }
}

/** Claims an interface; on failure says why, as far as the platform lets us know. */
export async function claim(device: UsbDeviceLike, interfaceNumber: number, heldBy: string): Promise<void> {
  try {
    await device.claimInterface(interfaceNumber);
  } catch (error) {
    if (isDeviceLost(error)) throw new AdapterOpenError('The adapter went away while it was being opened.', { cause: error });
    throw new AdapterOpenError(
      `Chrome could not claim the adapter's USB interface ${interfaceNumber}: ${heldBy} Another tab or program may also be using it.`,
      { cause: error },
    );
  }
}

function openFailureMessage(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'SecurityError') return 'The browser did not allow access to the adapter. Pick it again in the adapter list.';
  if (isDeviceLost(error)) return 'The adapter went away while it was being opened.';
  return `The adapter could not be opened (${errorMessage(error)}). Is another tab or program using it?`;
}

/** The device is gone (unplugged, or its handle is stale after a replug): retrying on it is pointless. */
export function isDeviceLost(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'NotFoundError' || /disconnected|device (has been|was) lost|no device/i.test(error.message);
}

/** The transfer was cancelled by our own release or close. */
export function isAborted(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** A copy of a transfer's data as bytes. */
export function bytesOf(result: UsbInResult): Uint8Array {
  const view = result.data;
  if (!view) return new Uint8Array(0);
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

/** Standard identity strings of a USB device, for labels. */
export function describeUsbDevice(device: UsbDeviceLike): string {
  const name = device.productName?.trim() || `USB device ${hex4(device.vendorId)}:${hex4(device.productId)}`;
  return device.manufacturerName?.trim() ? `${name} (${device.manufacturerName.trim()})` : name;
}

export function hex4(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, '0');
}
