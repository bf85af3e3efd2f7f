/**
 * Which remote site the app showed when it was closed, read at start-up without loading the
 * remote layer (viewer-config.ts keeps the whole viewer configuration under the same key).
 */
export const VIEWER_CONFIG_KEY = 'wattwall.remote-viewer';

export function viewingAtStart(storage: Storage): string | undefined {
  try {
    const viewing = (JSON.parse(storage.getItem(VIEWER_CONFIG_KEY) ?? '{}') as { viewing?: unknown }).viewing;
    return typeof viewing === 'string' ? viewing : undefined;
  } catch {
    return undefined;
  }
}
