/** Fetches and compiles the meter core that the build put beside the app. */
import meterWasmUrl from '../../../firmware/build/wasm/meter.wasm?url';
import { compileMeterCore } from './meter-core';

let compiled: Promise<WebAssembly.Module> | undefined;

export function loadMeterCore(url: string = meterWasmUrl): Promise<WebAssembly.Module> {
  compiled ??= fetch(url)
    .then((response) => {
      if (!response.ok) throw new Error(`meter core not found (${response.status} ${url})`);
      return response.arrayBuffer();
    })
    .then((bytes) => compileMeterCore(bytes))
    .catch((error: unknown) => {
      compiled = undefined;
      throw error;
    });
  return compiled;
}
