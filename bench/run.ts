/** `npm run bench`: every benchmark the project has; writes docs/figures.md and docs/figures.json. */
import { fileURLToPath } from 'node:url';
import { Figures } from './figures';
import { benchAppPoll, benchBus } from './bus';
import { benchBundle } from './bundle';
import { benchFirmware } from './firmware';
import { benchAppCycle, benchStore } from './history';
import { benchDashboard } from './dashboard';
import { benchEnergyManager } from './energy-manager';
import { benchPlanner } from './planner';
import { benchTariff } from './tariff';

const figures = new Figures();
console.log(`Machine: ${figures.machine()}\n`);
await benchBus(figures);
await benchAppPoll(figures);
await benchAppCycle(figures);
await benchStore(figures);
benchBundle(figures);
await benchDashboard(figures);
benchFirmware(figures);
await benchTariff(figures);
await benchPlanner(figures);
await benchEnergyManager(figures);
figures.write(fileURLToPath(new URL('../docs/figures.json', import.meta.url)), fileURLToPath(new URL('../docs/figures.md', import.meta.url)));
console.log('\nWrote docs/figures.md and docs/figures.json');
