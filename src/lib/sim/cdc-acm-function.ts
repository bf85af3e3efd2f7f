/**
 * The USB CDC-ACM function of a serial-over-USB adapter (CANable, USBtin): a communications
 * interface (class 2, subclass 2 ACM) with its notification endpoint, and a data interface
 * (class 10) with bulk IN and OUT, as the adapters' descriptors have it. The firmware above it
 * gets the host's bytes and sends its own through `submit`.
 */
import { type ControlResult, type EmulatedUsbDevice, endpoint, type UsbFunction, usbInterface } from './emulated-usb-device';
import type { UsbConfigurationLike } from '../can/usb/webusb';

export const CDC_CONTROL_INTERFACE = 0;
export const CDC_DATA_INTERFACE = 1;
export const CDC_DATA_ENDPOINT = 1;
export const CDC_NOTIFY_ENDPOINT = 2;
export const CDC_PACKET_SIZE = 64;

const SET_LINE_CODING = 0x20;
const GET_LINE_CODING = 0x21;
const SET_CONTROL_LINE_STATE = 0x22;

export interface CdcAcmDevice {
  fromHost(bytes: Uint8Array): void;
  /** The host claimed the data interface (true), or released it or went away (false). */
  hostOpened(open: boolean): void;
  powerLost(): void;
}

export class CdcAcmFunction implements UsbFunction {
  readonly configuration: UsbConfigurationLike = {
    configurationValue: 1,
    configurationName: null,
    interfaces: [
      usbInterface(CDC_CONTROL_INTERFACE, { interfaceClass: 2, interfaceSubclass: 2, interfaceProtocol: 1 }, [endpoint(CDC_NOTIFY_ENDPOINT, 'in', 'interrupt', 8)]),
      usbInterface(CDC_DATA_INTERFACE, { interfaceClass: 10, interfaceSubclass: 0, interfaceProtocol: 0 }, [
        endpoint(CDC_DATA_ENDPOINT, 'out', 'bulk', CDC_PACKET_SIZE),
        endpoint(CDC_DATA_ENDPOINT, 'in', 'bulk', CDC_PACKET_SIZE),
      ]),
    ],
  };

  /** 115200 8N1 until the host says otherwise; the adapters ignore it. */
  lineCoding = Uint8Array.of(0x00, 0xc2, 0x01, 0x00, 0, 0, 8);
  /** DTR (bit 0) and RTS (bit 1) as the host set them. */
  controlLines = 0;

  readonly #device: CdcAcmDevice;
  #handle: EmulatedUsbDevice | undefined;
  #dataClaimed = false;
  #inFlight = false;

  constructor(device: CdcAcmDevice) {
    this.#device = device;
  }

  attached(handle: EmulatedUsbDevice): void {
    this.#handle = handle;
    this.#inFlight = false;
  }

  /** The host reads the data endpoint and no earlier transfer of ours is still waiting. */
  get ready(): boolean {
    return this.#dataClaimed && !this.#inFlight && this.#handle?.alive === true;
  }

  /** Sends one transfer to the host; false if it cannot take one now (see `ready`). */
  submit(bytes: Uint8Array): boolean {
    const handle = this.#handle;
    if (!this.ready || !handle) return false;
    this.#inFlight = true;
    void handle.submitIn(CDC_DATA_ENDPOINT, bytes, true, () => {
      if (this.#handle === handle) this.#inFlight = false;
    });
    return true;
  }

  control(setup: USBControlTransferParameters, direction: 'in' | 'out', data: Uint8Array, length: number): ControlResult {
    if (setup.requestType !== 'class' || setup.recipient !== 'interface' || setup.index !== CDC_CONTROL_INTERFACE) return { status: 'stall' };
    if (direction === 'out' && setup.request === SET_LINE_CODING && data.length >= 7) {
      this.lineCoding = data.slice(0, 7);
      return { status: 'ok' };
    }
    if (direction === 'in' && setup.request === GET_LINE_CODING && length >= 7) return { status: 'ok', data: this.lineCoding.slice() };
    if (direction === 'out' && setup.request === SET_CONTROL_LINE_STATE) {
      this.controlLines = setup.value & 0x3;
      return { status: 'ok' };
    }
    return { status: 'stall' };
  }

  bulkOut(endpointNumber: number, data: Uint8Array): 'ok' | 'stall' {
    if (endpointNumber !== CDC_DATA_ENDPOINT) return 'stall';
    this.#device.fromHost(data);
    return 'ok';
  }

  interfaceClaimed(interfaceNumber: number, claimed: boolean): void {
    if (interfaceNumber !== CDC_DATA_INTERFACE || claimed === this.#dataClaimed) return;
    this.#dataClaimed = claimed;
    if (!claimed) this.#inFlight = false;
    this.#device.hostOpened(claimed);
  }

  powerLost(): void {
    this.#dataClaimed = false;
    this.#inFlight = false;
    this.#handle = undefined;
    this.#device.powerLost();
  }
}
