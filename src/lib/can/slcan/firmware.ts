/**
 * What each slcan firmware means by the LAWICEL commands (shared/reference/can-adapters.md §1.2,
 * §1.4): the S0-S8 presets (S7 is 750k on the stock CANable 1.0 firmware, 800k elsewhere), how it
 * opens listen-only, whether and how it stamps received frames, whether it answers `F`, what it
 * replies to which command, and how it leaves bus-off. The driver takes everything
 * firmware-specific from here; nothing in it depends on an acknowledgement.
 */
import type { BusState } from '../transport';

export type SlcanFirmwareId = 'canable1-stock' | 'canable2-stock' | 'nakakiyo' | 'elmue' | 'usbtin' | 'lawicel' | 'generic';

export interface SlcanTimestampMode {
  /** The command that turns stamps on, sent while the channel is closed. */
  readonly command: string;
  readonly unit: 'ms' | 'us';
  /** Where the counter wraps, in its own unit. */
  readonly wrap: number;
}

export interface SlcanFirmware {
  readonly id: SlcanFirmwareId;
  readonly name: string;
  /** Bit rate of S0..S8 (S9 and up where the firmware has them); undefined where a preset is missing. */
  readonly presets: readonly (number | undefined)[];
  /** Replies CR / BELL / z / Z to commands. */
  readonly acknowledges: boolean;
  /** Commands that open the channel listen-only, in order; undefined if the driver cannot. */
  readonly openListenOnly: readonly string[] | undefined;
  /** Commands that open the channel for normal operation, in order. */
  readonly openNormal: readonly string[];
  /** Timestamp modes, best first; empty when the firmware stamps nothing. */
  readonly timestamps: readonly SlcanTimestampMode[];
  /** The command that turns stamps off, where `timestamps` is not empty (Lawicel keeps Z in EEPROM). */
  readonly timestampsOff?: string;
  /** Answers `F` with `Fxx` while the channel is open; the driver polls it. */
  readonly statusFlags: 'lawicel' | 'usbtin' | 'nakakiyo' | undefined;
  /** Whether `C` gets a reply (Elmue's never does; the others answer CR or BELL). */
  readonly repliesToClose: boolean;
  /**
   * How the controller leaves bus-off: by itself (hardware auto-recovery), or only when the host
   * closes and reopens the channel.
   */
  readonly busOffRecovery: 'automatic' | 'reopen';
  /** Why a feature is missing, for the screen. */
  readonly notes: string;
}

const LAWICEL_PRESETS = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000] as const;
const MS_STAMPS: SlcanTimestampMode = { command: 'Z1', unit: 'ms', wrap: 60_000 };
/** Nakakiyo's Z2: 8 hex digits of µs, wrapping at 0xD693A400 (one hour). */
const US_STAMPS: SlcanTimestampMode = { command: 'Z2', unit: 'us', wrap: 0xd693a400 };

export const SLCAN_FIRMWARES: { readonly [id in SlcanFirmwareId]: SlcanFirmware } = {
  'canable1-stock': {
    id: 'canable1-stock',
    name: 'CANable 1.0 stock slcan',
    presets: [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 750_000, 1_000_000],
    acknowledges: false,
    openListenOnly: ['M1', 'O'],
    openNormal: ['M0', 'O'],
    timestamps: [],
    statusFlags: undefined,
    repliesToClose: false,
    busOffRecovery: 'automatic',
    notes: 'No replies, no timestamps, no status flags; S7 is 750 kbit/s; the controller leaves bus-off by itself.',
  },
  'canable2-stock': {
    id: 'canable2-stock',
    name: 'CANable 2.0 stock slcan',
    presets: [...LAWICEL_PRESETS, 83_333],
    acknowledges: false,
    openListenOnly: ['M1', 'O'],
    openNormal: ['M0', 'O'],
    timestamps: [],
    statusFlags: undefined,
    repliesToClose: false,
    busOffRecovery: 'reopen',
    notes: 'No replies, no timestamps, no status flags; bus-off lasts until the channel is closed and reopened.',
  },
  nakakiyo: {
    id: 'nakakiyo',
    name: 'CANable 2.0 Nakakiyo slcan',
    presets: LAWICEL_PRESETS,
    acknowledges: true,
    openListenOnly: ['L'],
    openNormal: ['O'],
    timestamps: [US_STAMPS, MS_STAMPS],
    timestampsOff: 'Z0',
    statusFlags: 'nakakiyo',
    repliesToClose: true,
    busOffRecovery: 'reopen',
    notes: 'Full LAWICEL replies, µs timestamps, status flags; transmissions are refused while bus-off.',
  },
  elmue: {
    id: 'elmue',
    name: 'CANable 2.5 (Elmue) slcan',
    presets: LAWICEL_PRESETS,
    acknowledges: true,
    // Its `L` reports bus load and its `F` sets filters; its own open modes are not documented
    // here well enough to use them, so listen-only is refused rather than guessed.
    openListenOnly: undefined,
    openNormal: ['O'],
    timestamps: [],
    statusFlags: undefined,
    repliesToClose: false,
    busOffRecovery: 'reopen',
    notes: '`C` never replies, `L` is a bus-load report and `F` sets filters, so the driver uses neither; listen-only is not offered.',
  },
  usbtin: {
    id: 'usbtin',
    name: 'USBtin',
    presets: LAWICEL_PRESETS,
    acknowledges: true,
    openListenOnly: ['L'],
    openNormal: ['O'],
    timestamps: [MS_STAMPS],
    timestampsOff: 'Z0',
    statusFlags: 'usbtin',
    repliesToClose: true,
    busOffRecovery: 'reopen',
    notes: 'MCP2515 behind a PIC: millisecond stamps, status flags with bus-off (0x80).',
  },
  lawicel: {
    id: 'lawicel',
    name: 'Lawicel CANUSB',
    presets: LAWICEL_PRESETS,
    acknowledges: true,
    openListenOnly: ['L'],
    openNormal: ['O'],
    timestamps: [MS_STAMPS],
    timestampsOff: 'Z0',
    statusFlags: 'lawicel',
    repliesToClose: true,
    busOffRecovery: 'reopen',
    notes: 'SJA1000: millisecond stamps (the Z setting persists in EEPROM, so the driver always sets it), status flags; only C then O leaves bus-off.',
  },
  generic: {
    id: 'generic',
    name: 'slcan adapter',
    presets: LAWICEL_PRESETS,
    acknowledges: true,
    openListenOnly: ['L'],
    openNormal: ['O'],
    timestamps: [],
    statusFlags: undefined,
    repliesToClose: true,
    busOffRecovery: 'reopen',
    notes: 'Unknown firmware: LAWICEL basics only; timestamps are read if the adapter sends them.',
  },
};

/** USB ids of slcan adapters and which firmwares run on them. */
export interface SlcanUsbIdentity {
  readonly vendorId: number;
  readonly productId: number;
  readonly hardware: string;
  /** Firmwares that use this id; the first is the default when the version reply says nothing. */
  readonly firmwares: readonly SlcanFirmwareId[];
  /** USB CDC-ACM (reachable over WebUSB too), or a vendor-specific serial chip (Web Serial only). */
  readonly cdcAcm: boolean;
}

export const SLCAN_USB_IDS: readonly SlcanUsbIdentity[] = [
  { vendorId: 0xad50, productId: 0x60c4, hardware: 'CANable 1.0', firmwares: ['canable1-stock'], cdcAcm: true },
  { vendorId: 0x16d0, productId: 0x117e, hardware: 'CANable 2.0', firmwares: ['canable2-stock', 'nakakiyo', 'elmue'], cdcAcm: true },
  { vendorId: 0x04d8, productId: 0x000a, hardware: 'USBtin', firmwares: ['usbtin'], cdcAcm: true },
  { vendorId: 0x0403, productId: 0x6001, hardware: 'Lawicel CANUSB (FTDI)', firmwares: ['lawicel'], cdcAcm: false },
  { vendorId: 0x0403, productId: 0x6015, hardware: 'slcan adapter (FTDI)', firmwares: ['lawicel'], cdcAcm: false },
];

export function slcanUsbIdentity(vendorId: number | undefined, productId: number | undefined): SlcanUsbIdentity | undefined {
  return SLCAN_USB_IDS.find((id) => id.vendorId === vendorId && id.productId === productId);
}

/** Firmwares a USB id leaves possible; several mean the driver asks the adapter (`V`) before configuring it. */
export function candidateFirmwares(vendorId: number | undefined, productId: number | undefined): readonly SlcanFirmwareId[] {
  return slcanUsbIdentity(vendorId, productId)?.firmwares ?? ['generic'];
}

/**
 * The firmware behind a version reply (the line after `V`, or nothing if none came in time),
 * among the candidates of the adapter's USB id.
 * - Stock CANable firmwares answer their git id and remote, e.g. `b158aa7 github.com/…` (no `V`).
 * - Nakakiyo answers `V` and four characters (hardware, software), e.g. `VL2K4`.
 * - Elmue's answers are marked by its `CANable 2.5` product text or `#` feedback codes.
 * - No answer at all: a firmware that replies to nothing, i.e. a stock CANable.
 */
export function identifyFirmware(candidates: readonly SlcanFirmwareId[], versionReply: string | undefined): SlcanFirmwareId {
  const only = candidates.length === 1 ? candidates[0] : undefined;
  if (only) return only;
  const has = (id: SlcanFirmwareId) => candidates.includes(id);
  if (versionReply === undefined) {
    if (has('canable2-stock')) return 'canable2-stock';
    if (has('canable1-stock')) return 'canable1-stock';
    return candidates[0] ?? 'generic';
  }
  if (has('elmue') && (/2\.5/.test(versionReply) || versionReply.startsWith('#'))) return 'elmue';
  if (/^V[0-9A-Za-z]{4}$/.test(versionReply)) {
    if (has('nakakiyo')) return 'nakakiyo';
    return has('lawicel') ? 'lawicel' : (candidates[0] ?? 'generic');
  }
  if (/\s|github|canable/i.test(versionReply)) {
    if (has('canable2-stock')) return 'canable2-stock';
    if (has('canable1-stock')) return 'canable1-stock';
  }
  return candidates[0] ?? 'generic';
}

/** The `Sn` command for a bit rate on this firmware. */
export function presetCommand(firmware: SlcanFirmware, bitrate: number): string {
  const index = firmware.presets.indexOf(bitrate);
  if (index < 0) {
    const offered = firmware.presets.filter((b): b is number => b !== undefined).map((b) => `${b / 1000}k`);
    throw new RangeError(`${firmware.name} has no preset for ${bitrate} bit/s (it offers ${offered.join(', ')})`);
  }
  return `S${index.toString(16).toUpperCase()}`;
}

export interface DecodedStatusFlags {
  readonly state: BusState;
  readonly rxOverflow: boolean;
  readonly txOverflow: boolean;
  readonly busError: boolean;
}

/**
 * The meaning of an `Fxx` reply. The bits differ per firmware (reference §1.2):
 * Lawicel b0 RX FIFO full, b1 TX FIFO full, b2 warning, b3 data overrun, b5 passive, b7 bus error;
 * USBtin maps the MCP2515's EFLG: 0x04 warning, 0x08 overflow, 0x20 passive, 0x80 bus-off;
 * Nakakiyo b0 CAN TX/CDC RX overflow, b1 CAN RX/CDC TX overflow, b2 warning, b3 frame lost,
 * b5 passive, b7 an error counter went up.
 */
export function decodeStatusFlags(flags: number, kind: NonNullable<SlcanFirmware['statusFlags']>): DecodedStatusFlags {
  const bit = (n: number) => (flags & (1 << n)) !== 0;
  const state: BusState = kind === 'usbtin' && bit(7) ? 'bus-off' : bit(5) ? 'error-passive' : bit(2) ? 'error-warning' : 'error-active';
  switch (kind) {
    case 'usbtin':
      return { state, rxOverflow: bit(3), txOverflow: false, busError: false };
    case 'nakakiyo':
      return { state, rxOverflow: bit(1) || bit(3), txOverflow: bit(0), busError: bit(7) };
    case 'lawicel':
      return { state, rxOverflow: bit(0) || bit(3), txOverflow: bit(1), busError: bit(7) };
  }
}
