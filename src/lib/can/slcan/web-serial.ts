/**
 * Finding slcan adapters through the browser's Web Serial API. The driver itself is
 * serial-transport.ts; this file only talks to `navigator.serial`.
 */

/** USB ids of the slcan adapters we know (shared/reference/can-adapters.md §1.4). */
export const SLCAN_USB_FILTERS: readonly SerialPortFilter[] = [
  { usbVendorId: 0xad50, usbProductId: 0x60c4 }, // CANable 1.0 (Protofusion Labs)
  { usbVendorId: 0x16d0, usbProductId: 0x117e }, // CANable 2.0, Nakakiyo and Elmue firmwares
  { usbVendorId: 0x04d8, usbProductId: 0x000a }, // USBtin (Microchip CDC)
  { usbVendorId: 0x0403, usbProductId: 0x6001 }, // Lawicel CANUSB and FTDI-based clones
  { usbVendorId: 0x0403, usbProductId: 0x6015 },
];

export function webSerial(nav: Navigator = globalThis.navigator): Serial | undefined {
  return 'serial' in nav ? nav.serial : undefined;
}

/** Opens the browser's picker; resolves undefined when the user cancels. Needs a user gesture. */
export async function pickSlcanPort(serial: Serial): Promise<SerialPort | undefined> {
  try {
    return await serial.requestPort({ filters: [...SLCAN_USB_FILTERS] });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotFoundError') return undefined;
    throw error;
  }
}

/** Ports the user granted before: reopened without a click. */
export async function grantedSlcanPorts(serial: Serial): Promise<SerialPort[]> {
  return serial.getPorts();
}
