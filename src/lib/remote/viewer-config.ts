/**
 * What a remote viewer remembers in the browser: the broker it reads, the sites it was paired
 * with (their pairing codes: the viewer's half of each pairing), which site it showed last, and
 * each pairing's command counter, so a restarted viewer never sends a command number twice.
 */
import { readPairingCode, type ViewerCredential } from './command-auth';
import { topicLevel } from './protocol';
import type { SeqStore } from './viewer';
import { VIEWER_CONFIG_KEY as KEY } from './viewing';

export interface ViewerBroker {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly prefix: string;
}

export interface ViewerConfig {
  readonly broker: ViewerBroker;
  /** Pairing codes by site id. */
  readonly pairings: Readonly<Record<string, string>>;
  /** The site shown when the app opens, if the user was viewing one. */
  readonly viewing: string | undefined;
}

export const DEFAULT_VIEWER_CONFIG: ViewerConfig = { broker: { url: 'ws://localhost:9001', username: '', password: '', prefix: 'wattwall' }, pairings: {}, viewing: undefined };

export function loadViewerConfig(storage: Storage): ViewerConfig {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return DEFAULT_VIEWER_CONFIG;
    const v = JSON.parse(raw) as Partial<ViewerConfig>;
    const b = { ...DEFAULT_VIEWER_CONFIG.broker, ...(typeof v.broker === 'object' && v.broker ? v.broker : {}) };
    const pairings: Record<string, string> = {};
    for (const [site, code] of Object.entries(typeof v.pairings === 'object' && v.pairings ? v.pairings : {})) {
      // A damaged entry is dropped, not fatal: the user pastes the code again.
      try {
        if (typeof code === 'string' && readPairingCode(code).site === site) pairings[site] = code;
      } catch {
        /* dropped */
      }
    }
    return { broker: b, pairings, viewing: typeof v.viewing === 'string' ? v.viewing : undefined };
  } catch {
    return DEFAULT_VIEWER_CONFIG;
  }
}

export function saveViewerConfig(storage: Storage, config: ViewerConfig): void {
  config.broker.prefix.split('/').forEach(topicLevel);
  storage.setItem(KEY, JSON.stringify(config));
}

/** The credential of a pairing code, added to the config (returned, not saved). */
export function withPairing(config: ViewerConfig, code: string): { config: ViewerConfig; credential: ViewerCredential } {
  const credential = readPairingCode(code);
  return { config: { ...config, pairings: { ...config.pairings, [credential.site]: code.trim() } }, credential };
}

/** The command counter of one pairing, in the browser's storage. */
export function storedSeq(storage: Storage, viewer: string): SeqStore {
  const key = `wattwall.remote-seq.${viewer}`;
  return {
    load: () => {
      const n = Number(storage.getItem(key) ?? '0');
      return Number.isSafeInteger(n) && n >= 0 ? n : 0;
    },
    save: (seq) => storage.setItem(key, String(seq)),
  };
}
