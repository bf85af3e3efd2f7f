/**
 * Households for the demo bus and the tests: which meters sit on the bus and what their loads do.
 */
import { cycling, electronics, type LoadProfile, photovoltaic, programme, resistive } from './waveforms';

export interface MeterSpec {
  readonly nodeId: number;
  readonly name: string;
  readonly load: LoadProfile;
  /** What the app should first call it (the user can change it). */
  readonly kind?: 'load' | 'generator' | 'cogenerator' | 'storage';
}

/** A step of a scenario script: at `atSeconds` into the simulation, meter `nodeId`'s load changes. */
export interface ScenarioEvent {
  readonly atSeconds: number;
  readonly nodeId: number;
  readonly load: LoadProfile;
}

export interface Scenario {
  readonly meters: readonly MeterSpec[];
  readonly script: readonly ScenarioEvent[];
}

/**
 * A family home: base load, fridge, washing machine, heat pump, and a PV inverter on the roof;
 * a minute in, someone bakes for twenty minutes.
 */
export function demoHouse(startHour: number): Scenario {
  const meters: MeterSpec[] = [
    { nodeId: 1, name: 'Living room and office', load: electronics(310) },
    { nodeId: 2, name: 'Fridge', load: cycling(120, 15 * 60, 25 * 60) },
    {
      nodeId: 3,
      name: 'Washing machine',
      load: programme([
        { seconds: 20 * 60, draw: { power: 1950, powerFactor: 1, harmonics: [] } },
        { seconds: 40 * 60, draw: { power: 180, powerFactor: 0.7, harmonics: [{ order: 3, ratio: 0.12, phase: 0.5 }] } },
        { seconds: 10 * 60, draw: { power: 420, powerFactor: 0.8, harmonics: [{ order: 3, ratio: 0.2, phase: 0.9 }] } },
        { seconds: 150 * 60, draw: { power: 2, powerFactor: 0.5, harmonics: [] } },
      ]),
    },
    { nodeId: 4, name: 'Heat pump', load: cycling(1450, 25 * 60, 10 * 60, 0.9) },
    { nodeId: 5, name: 'Oven', load: resistive(0) },
    { nodeId: 10, name: 'PV inverter', load: photovoltaic(3200, startHour), kind: 'generator' },
  ];
  const script: ScenarioEvent[] = [
    { atSeconds: 60, nodeId: 5, load: resistive(2400) },
    { atSeconds: 60 + 20 * 60, nodeId: 5, load: resistive(0) },
  ];
  return { meters, script };
}
