/**
 * The USB-CAN adapters the app knows by vendor and product id, which driver each needs, and the
 * three ways of reaching one: slcan over Web Serial, slcan over WebUSB (CDC-ACM), gs_usb over
 * WebUSB. Ids from shared/reference/can-adapters.md §1.4 and §2.1 (Linux gs_usb's id table).
 */
import { hex4 } from './usb/webusb';
import { SLCAN_USB_IDS } from './slcan/firmware';

export type AdapterKind = 'slcan-serial' | 'slcan-usb' | 'gs-usb';
export type Driver = 'slcan' | 'gs_usb';

export interface KnownAdapter {
  readonly vendorId: number;
  readonly productId: number;
  readonly name: string;
  readonly driver: Driver;
  /** Ways the app can reach it. */
  readonly kinds: readonly AdapterKind[];
}

const GS_USB_IDS: readonly (readonly [number, number, string])[] = [
  [0x1d50, 0x606f, 'candleLight, or CANable with candleLight firmware'],
  [0x1209, 0x2323, 'candleLight (pid.codes)'],
  [0x1cd2, 0x606f, 'CES CANext FD'],
  [0x16d0, 0x10b8, 'ABE CANdebugger FD'],
  [0x16d0, 0x0f30, 'Xylanta SAINT3'],
  [0x1209, 0xca01, 'CANnectivity'],
];

export const KNOWN_ADAPTERS: readonly KnownAdapter[] = [
  ...SLCAN_USB_IDS.map(
    (id): KnownAdapter => ({
      vendorId: id.vendorId,
      productId: id.productId,
      name: id.hardware,
      driver: 'slcan',
      kinds: id.cdcAcm ? ['slcan-serial', 'slcan-usb'] : ['slcan-serial'],
    }),
  ),
  ...GS_USB_IDS.map(([vendorId, productId, name]): KnownAdapter => ({ vendorId, productId, name, driver: 'gs_usb', kinds: ['gs-usb'] })),
];

export function knownAdapter(vendorId: number | undefined, productId: number | undefined): KnownAdapter | undefined {
  return KNOWN_ADAPTERS.find((a) => a.vendorId === vendorId && a.productId === productId);
}

export function usbId(vendorId: number, productId: number): string {
  return `${hex4(vendorId)}:${hex4(productId)}`;
}

/** requestPort filters for slcan adapters. */
export function serialFilters(): SerialPortFilter[] {
  return KNOWN_ADAPTERS.filter((a) => a.kinds.includes('slcan-serial')).map((a) => ({ usbVendorId: a.vendorId, usbProductId: a.productId }));
}

/** requestDevice filters for a WebUSB kind. */
export function usbFilters(kind: 'slcan-usb' | 'gs-usb'): USBDeviceFilter[] {
  return KNOWN_ADAPTERS.filter((a) => a.kinds.includes(kind)).map((a) => ({ vendorId: a.vendorId, productId: a.productId }));
}

export interface AdapterKindInfo {
  readonly kind: AdapterKind;
  readonly title: string;
  /** Which adapters, for the picker. */
  readonly adapters: string;
  readonly api: 'serial' | 'usb';
  /** Where it works, for the picker and docs. */
  readonly platforms: string;
}

export const ADAPTER_KINDS: readonly AdapterKindInfo[] = [
  {
    kind: 'slcan-serial',
    title: 'slcan adapter (Web Serial)',
    adapters: 'CANable 1.0/2.0 with slcan firmware (stock, Nakakiyo, Elmue), USBtin, Lawicel CANUSB and clones',
    api: 'serial',
    platforms: 'Chrome or Edge on Windows, macOS, Linux, ChromeOS; Android from Chrome 148 on Android 17',
  },
  {
    kind: 'slcan-usb',
    title: 'slcan adapter (WebUSB)',
    adapters: 'CANable 1.0/2.0 with slcan firmware, USBtin (USB CDC adapters; not FTDI-based ones)',
    api: 'usb',
    platforms: 'Chrome on Android tablets and ChromeOS, where Web Serial does not see USB serial devices',
  },
  {
    kind: 'gs-usb',
    title: 'candleLight / gs_usb (WebUSB)',
    adapters: 'candleLight, CANable with candleLight firmware, CANnectivity and the other gs_usb devices',
    api: 'usb',
    platforms: 'Chrome or Edge on Windows, macOS, ChromeOS and Android; on Linux after unloading the gs_usb kernel module',
  },
];

export function kindInfo(kind: AdapterKind): AdapterKindInfo {
  return ADAPTER_KINDS.find((k) => k.kind === kind) as AdapterKindInfo;
}

export type SupportGap = 'insecure' | 'none' | 'no-serial' | 'no-usb';

export interface BrowserSupport {
  readonly serial: boolean;
  readonly usb: boolean;
  /** What is missing (the screens word it in the user's language); undefined when both APIs are there. */
  readonly gap: SupportGap | undefined;
  /** The same in plain English, for logs and tests. */
  readonly explanation: string | undefined;
}

const SUPPORT_EXPLANATIONS: Readonly<Record<SupportGap, string>> = {
  insecure: 'USB adapters need the app served over https:// or from localhost. The demo bus works here.',
  none: 'This browser cannot talk to USB adapters: it has neither Web Serial nor WebUSB. Use Chrome or Edge on a computer, or Chrome on an Android tablet. The demo bus works here.',
  'no-serial':
    'Web Serial is not available in this browser (on Android before Chrome 148 it reaches Bluetooth ports only). Use an slcan adapter over WebUSB, or a candleLight (gs_usb) adapter.',
  'no-usb': 'WebUSB is not available in this browser: slcan adapters over Web Serial work, candleLight (gs_usb) adapters do not.',
};

/** What this browser offers, and what to tell the user about what it does not. */
export function browserSupport(nav: Navigator | undefined, secureContext: boolean): BrowserSupport {
  const serial = !!nav && 'serial' in nav && !!nav.serial;
  const usb = !!nav && 'usb' in nav && !!nav.usb;
  const gap: SupportGap | undefined = !secureContext ? 'insecure' : !serial && !usb ? 'none' : !serial ? 'no-serial' : !usb ? 'no-usb' : undefined;
  return { serial, usb, gap, explanation: gap ? SUPPORT_EXPLANATIONS[gap] : undefined };
}
