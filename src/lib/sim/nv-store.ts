/** Where simulated meters keep their flash (their EEPROM emulation's pages), by node id. */
export interface NvStore {
  load(nodeId: number): Uint8Array | undefined;
  save(nodeId: number, nv: Uint8Array): void;
}

export function memoryNvStore(): NvStore & { readonly blobs: Map<number, Uint8Array> } {
  const blobs = new Map<number, Uint8Array>();
  return { blobs, load: (node) => blobs.get(node), save: (node, nv) => void blobs.set(node, nv) };
}

interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  readonly length: number;
  key(index: number): string | null;
}

/** Flash that survives a page reload: the demo household's meters keep their state in Web Storage. */
export function keyValueNvStore(storage: KeyValueStorage, prefix: string): NvStore & { entries(): [number, Uint8Array][] } {
  const load = (node: number) => {
    const hex = storage.getItem(`${prefix}.${node}`);
    if (!hex || !/^([0-9a-f]{2})+$/.test(hex)) return undefined;
    return Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));
  };
  return {
    load,
    save: (node, nv) => storage.setItem(`${prefix}.${node}`, Array.from(nv, (b) => b.toString(16).padStart(2, '0')).join('')),
    /** Every meter's flash under the prefix (the page hands them to the demo bus's worker). */
    entries: () => {
      const out: [number, Uint8Array][] = [];
      for (let i = 0; i < storage.length; i++) {
        const match = storage.key(i)?.match(/^(.*)\.(\d+)$/);
        if (!match || match[1] !== prefix) continue;
        const node = Number(match[2]);
        const nv = load(node);
        if (nv) out.push([node, nv]);
      }
      return out.sort((a, b) => a[0] - b[0]);
    },
  };
}
