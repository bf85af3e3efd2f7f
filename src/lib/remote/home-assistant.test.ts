import { describe, expect, it } from 'vitest';
import { discoveryMessages } from './home-assistant';
import { type RemoteMeterInfo, Topics } from './protocol';

const topics = new Topics('wattwall', 'site1');
const oven: RemoteMeterInfo = { uid: '575753494d00000000000003', node: 3, name: 'Oven', kind: 'load' as const, priority: 40, gridPoint: false };
const pv: RemoteMeterInfo = { ...oven, uid: '575753494d0000000000000a', node: 10, name: 'PV', kind: 'generator' as const };

type Config = Record<string, unknown> & { device: Record<string, unknown> };
const configs = (meter: RemoteMeterInfo, currency?: string) =>
  discoveryMessages(topics, meter, { siteName: 'Home', ...(currency ? { currency } : {}) }).map((m) => ({ topic: m.topic, config: JSON.parse(m.payload) as Config }));

// Units Home Assistant accepts for each device class (its sensor documentation).
const UNITS: Record<string, readonly string[]> = { power: ['W', 'kW'], energy: ['Wh', 'kWh'], voltage: ['V'], current: ['A'], frequency: ['Hz'] };

describe('Home Assistant discovery', () => {
  it('makes every meter a device whose sensors have the device class, unit and state class Home Assistant expects', () => {
    const all = configs(oven);
    expect(new Set(all.map((c) => JSON.stringify(c.config.device.identifiers))).size).toBe(1);
    for (const { topic, config } of all) {
      expect(topic).toMatch(/^homeassistant\/(sensor|binary_sensor)\/wattwall_site1_575753494d00000000000003\/[a-z_]+\/config$/);
      expect(config.availability_topic).toBe('wattwall/site1/availability');
      const dc = config.device_class as string | undefined;
      if (dc && UNITS[dc] && topic.includes('/sensor/')) expect(UNITS[dc]).toContain(config.unit_of_measurement);
      if (dc === 'energy') expect(config.state_class).toBe('total_increasing');
      if (dc === 'power' && topic.includes('/sensor/')) expect(config.state_class).toBe('measurement');
      expect(config.unique_id).toBe(config.object_id);
    }
    const byKey = new Map(all.map((c) => [String(c.config.unique_id).split('_').slice(3).join('_'), c.config]));
    expect(byKey.get('power')?.state_topic).toBe(topics.live(oven.uid));
    // A load only draws: no export sensor. Its cost today, in the site's currency, from its cost topic.
    expect(byKey.has('energy_export')).toBe(false);
    expect(byKey.get('cost_today')).toMatchObject({ state_topic: topics.cost(oven.uid), device_class: 'monetary', unit_of_measurement: 'EUR', state_class: 'total', last_reset_value_template: "{{ value_json.day ~ 'T00:00:00' }}" });
    expect(configs(oven, 'GBP').find((c) => c.topic.includes('cost_today'))?.config.unit_of_measurement).toBe('GBP');
  });

  it('gives a generator an export sensor, and every entity a unique id across meters', () => {
    const generator = configs(pv);
    expect(generator.some((c) => c.topic.includes('/energy_export/'))).toBe(true);
    const ids = [...configs(oven), ...generator].map((c) => c.config.unique_id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
