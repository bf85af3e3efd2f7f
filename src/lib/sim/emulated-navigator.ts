/**
 * `navigator.serial` and `navigator.usb` over emulated adapters, for Node tests and the
 * end-to-end harness: the picker "chooses" the first device that matches the filters (or what a
 * test's chooser says), granted devices are listed by getPorts()/getDevices(), and connect and
 * disconnect events fire as Chrome fires them (with `port` or `device` on the event).
 */
import type { SerialApi, SerialPortHandle } from '../can/connection';
import type { UsbApi, UsbDeviceLike } from '../can/usb/webusb';
import type { EmulatedSerialPort } from './emulated-serial-port';
import type { UsbDeviceEmulator } from './emulated-usb-device';

const noneSelected = (what: string) => new DOMException(`No ${what} selected.`, 'NotFoundError');

export class EmulatedSerialApi extends EventTarget implements SerialApi {
  readonly #ports: EmulatedSerialPort[] = [];
  readonly #granted = new Set<EmulatedSerialPort>();
  /** How often the page opened the picker. */
  requests = 0;
  /** Which port the user picks among the matching ones; undefined cancels. Default: the first. */
  chooser: (ports: readonly EmulatedSerialPort[]) => EmulatedSerialPort | undefined = (ports) => ports[0];

  /** A port the machine has; `granted` as if the user had picked it on an earlier visit. */
  add(port: EmulatedSerialPort, granted = false): void {
    this.#ports.push(port);
    if (granted) this.#granted.add(port);
    port.addEventListener('connect', () => this.#fire('connect', port));
    port.addEventListener('disconnect', () => this.#fire('disconnect', port));
  }

  #fire(type: 'connect' | 'disconnect', port: EmulatedSerialPort): void {
    if (!this.#granted.has(port)) return; // Chrome reports only ports the page may use
    this.dispatchEvent(Object.assign(new Event(type), { port }));
  }

  async requestPort(options: SerialPortRequestOptions = {}): Promise<SerialPortHandle> {
    this.requests++;
    const filters = options.filters ?? [];
    const matching = this.#ports.filter((port) => {
      if (!port.connected) return false;
      const info = port.getInfo();
      return filters.length === 0 || filters.some((f) => (f.usbVendorId === undefined || f.usbVendorId === info.usbVendorId) && (f.usbProductId === undefined || f.usbProductId === info.usbProductId));
    });
    const chosen = this.chooser(matching);
    if (!chosen) throw noneSelected('port');
    this.#granted.add(chosen);
    return chosen;
  }

  async getPorts(): Promise<SerialPortHandle[]> {
    return this.#ports.filter((p) => this.#granted.has(p));
  }

  override addEventListener(type: string, listener: ((event: Event) => void) | EventListenerObject | null): void {
    super.addEventListener(type, listener);
  }

  override removeEventListener(type: string, listener: ((event: Event) => void) | EventListenerObject | null): void {
    super.removeEventListener(type, listener);
  }
}

export class EmulatedUsbApi extends EventTarget implements UsbApi {
  readonly #devices: UsbDeviceEmulator[] = [];
  readonly #granted = new Set<UsbDeviceEmulator>();
  requests = 0;
  chooser: (devices: readonly UsbDeviceEmulator[]) => UsbDeviceEmulator | undefined = (devices) => devices[0];

  add(device: UsbDeviceEmulator, granted = false): void {
    this.#devices.push(device);
    if (granted) this.#granted.add(device);
    device.addEventListener('connect', (event) => this.#fire('connect', device, event));
    device.addEventListener('disconnect', (event) => this.#fire('disconnect', device, event));
  }

  #fire(type: 'connect' | 'disconnect', physical: UsbDeviceEmulator, event: Event): void {
    if (!this.#granted.has(physical)) return;
    this.dispatchEvent(Object.assign(new Event(type), { device: (event as Event & { device?: unknown }).device }));
  }

  async requestDevice(options: USBDeviceRequestOptions): Promise<UsbDeviceLike> {
    this.requests++;
    const filters = options.filters;
    const matching = this.#devices.filter((d) => {
      if (!d.plugged) return false;
      const id = d.identity;
      return filters.length === 0 || filters.some((f) => (f.vendorId === undefined || f.vendorId === id.vendorId) && (f.productId === undefined || f.productId === id.productId));
    });
    const chosen = this.chooser(matching);
    if (!chosen?.handle) throw noneSelected('device');
    this.#granted.add(chosen);
    return chosen.handle;
  }

  /** Handles of the granted devices that are plugged in (Chrome lists no absent device). */
  async getDevices(): Promise<UsbDeviceLike[]> {
    return this.#devices.filter((d) => this.#granted.has(d) && d.handle).map((d) => d.handle as UsbDeviceLike);
  }

  override addEventListener(type: string, listener: ((event: Event) => void) | EventListenerObject | null): void {
    super.addEventListener(type, listener);
  }

  override removeEventListener(type: string, listener: ((event: Event) => void) | EventListenerObject | null): void {
    super.removeEventListener(type, listener);
  }
}
