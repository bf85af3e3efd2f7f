/// <reference lib="webworker" />
/** The demo household's worker: the simulated meters and the virtual bus, off the page's thread. */
import { serveDemoBus } from './demo-host';
import { loadMeterCore } from './load-core';

serveDemoBus(self as unknown as DedicatedWorkerGlobalScope, { loadModule: () => loadMeterCore() });
