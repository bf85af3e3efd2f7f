import { describe, expect, it } from 'vitest';
import { DemoBus } from './demo-bus';
import { demoHouse } from './scenarios';
import { meterCoreModule, TEST_SITE_KEY } from './testing/sim-rig';
import { resistive } from './waveforms';

describe('DemoBus', () => {
  it('runs a scenario script: a load switched on, then off', async () => {
    const scenario = {
      meters: [{ nodeId: 5, name: 'oven', load: resistive(0) }],
      script: [
        { atSeconds: 1, nodeId: 5, load: resistive(2400) },
        { atSeconds: 2, nodeId: 5, load: resistive(0) },
      ],
    };
    const demo = new DemoBus({ module: await meterCoreModule(), scenario, siteKey: TEST_SITE_KEY });
    const oven = demo.meter(5);
    if (!oven) throw new Error('no oven');
    demo.scheduler.advanceTo(0.9e9);
    expect(Math.abs(oven.core.measurement().power)).toBeLessThan(5);
    demo.scheduler.advanceTo(1.9e9);
    expect(Math.abs(oven.core.measurement().power - 2400) / 2400).toBeLessThan(0.005);
    demo.scheduler.advanceTo(2.9e9);
    expect(Math.abs(oven.core.measurement().power)).toBeLessThan(5);
  });

  it('simulates the demo household: the roof exports at noon, the rest draws', async () => {
    const demo = new DemoBus({ module: await meterCoreModule(), scenario: demoHouse(12), siteKey: TEST_SITE_KEY });
    demo.scheduler.advanceTo(1e9);
    for (const meter of demo.meters) {
      const power = meter.core.measurement().power;
      if (meter.nodeId === 10) expect(power).toBeLessThan(-2500);
      else expect(power).toBeGreaterThanOrEqual(-1);
    }
    expect(demo.meters.map((m) => m.nodeId)).toEqual([1, 2, 3, 4, 5, 10]);
  });

  it('refuses a script that names a meter not on the bus', async () => {
    const module = await meterCoreModule();
    const scenario = { meters: [{ nodeId: 1, name: 'a', load: resistive(1) }], script: [{ atSeconds: 1, nodeId: 2, load: resistive(5) }] };
    expect(() => new DemoBus({ module, scenario, siteKey: TEST_SITE_KEY })).toThrow('scenario script names meter 2');
  });
});
