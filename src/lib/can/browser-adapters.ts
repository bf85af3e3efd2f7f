/**
 * What the first screen needs to know of USB-CAN adapters without loading a driver: the
 * browser's Web Serial and WebUSB, and the adapter this browser used last time. The drivers and
 * the connection manager (connection.ts) load with the first connection.
 */
import { type AdapterKind, kindInfo } from './registry';
import type { SerialPortLike } from './slcan/serial-transport';
import type { UsbApi } from './usb/webusb';

/** A granted serial port: SerialPortLike with its USB ids. */
export interface SerialPortHandle extends SerialPortLike {
  getInfo(): SerialPortInfo;
}

/** The part of `navigator.serial` the connection manager uses. */
export interface SerialApi {
  requestPort(options?: SerialPortRequestOptions): Promise<SerialPortHandle>;
  getPorts(): Promise<SerialPortHandle[]>;
  addEventListener(type: 'connect' | 'disconnect', listener: (event: Event) => void): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: (event: Event) => void): void;
}

export interface AdapterApis {
  readonly serial?: SerialApi | undefined;
  readonly usb?: UsbApi | undefined;
}

/** The browser's APIs, where it has them. */
export function browserApis(nav: Navigator | undefined = globalThis.navigator): AdapterApis {
  const serial = nav && 'serial' in nav && nav.serial ? (nav.serial as unknown as SerialApi) : undefined;
  const usb = nav && 'usb' in nav && nav.usb ? (nav.usb as unknown as UsbApi) : undefined;
  return { serial, usb };
}

/** What is kept of the chosen adapter between visits. */
export interface RememberedAdapter {
  readonly kind: AdapterKind;
  readonly vendorId?: number;
  readonly productId?: number;
  /** WebUSB devices only (Web Serial does not tell); candleLight and CANable report their chip's UID. */
  readonly serialNumber?: string;
  readonly label: string;
}

/** Reads a remembered adapter from storage; undefined if nothing (valid) is there. */
export function loadRemembered(storage: { getItem(key: string): string | null }, key = REMEMBERED_KEY): RememberedAdapter | undefined {
  const text = storage.getItem(key);
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const r = value as Record<string, unknown>;
    if (r.kind !== 'slcan-serial' && r.kind !== 'slcan-usb' && r.kind !== 'gs-usb') return undefined;
    const id = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff ? v : undefined);
    const vendorId = id(r.vendorId);
    const productId = id(r.productId);
    return {
      kind: r.kind,
      ...(vendorId !== undefined ? { vendorId } : {}),
      ...(productId !== undefined ? { productId } : {}),
      ...(typeof r.serialNumber === 'string' ? { serialNumber: r.serialNumber } : {}),
      label: typeof r.label === 'string' ? r.label : kindInfo(r.kind).title,
    };
  } catch {
    return undefined;
  }
}

export function saveRemembered(storage: { setItem(key: string, value: string): void; removeItem(key: string): void }, adapter: RememberedAdapter | undefined, key = REMEMBERED_KEY): void {
  if (adapter) storage.setItem(key, JSON.stringify(adapter));
  else storage.removeItem(key);
}

export const REMEMBERED_KEY = 'wattwall.adapter';
