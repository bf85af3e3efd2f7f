/**
 * Home Assistant MQTT discovery: every meter appears in Home Assistant as a device with its
 * sensors, the right device classes and units, fed from the meter's retained live topic, and
 * unavailable when the site's aggregator is gone. Energy is the ledger's total (register
 * differences), `total_increasing`, so Home Assistant's Energy dashboard can use it.
 *
 * Switching stays with Wattwall: Home Assistant cannot sign commands (docs/deployment.md), so the
 * relay appears as a binary sensor.
 */
import type { RemoteMeterInfo } from './protocol';
import { type Topics, topicLevel } from './protocol';

export interface DiscoveryMessage {
  readonly topic: string;
  /** JSON, published retained; an empty payload removes the entity. */
  readonly payload: string;
}

interface SensorSpec {
  readonly key: string;
  readonly name: string;
  readonly component: 'sensor' | 'binary_sensor';
  readonly template: string;
  readonly deviceClass?: string;
  readonly unit?: string;
  readonly stateClass?: 'measurement' | 'total_increasing' | 'total';
  readonly precision?: number;
  /** The meter's topic the sensor reads: its live reading (default), or today's cost. */
  readonly topic?: 'live' | 'cost';
  /** For a `total` that starts again: when it did, so Home Assistant's statistics see a reset, not a fall. */
  readonly lastResetTemplate?: string;
}

const SENSORS: readonly SensorSpec[] = [
  { key: 'power', name: 'Power', component: 'sensor', template: '{{ value_json.watts }}', deviceClass: 'power', unit: 'W', stateClass: 'measurement', precision: 0 },
  { key: 'energy_import', name: 'Energy imported', component: 'sensor', template: '{{ (value_json.importMwh / 1000) | round(3) }}', deviceClass: 'energy', unit: 'Wh', stateClass: 'total_increasing', precision: 0 },
  { key: 'energy_export', name: 'Energy exported', component: 'sensor', template: '{{ (value_json.exportMwh / 1000) | round(3) }}', deviceClass: 'energy', unit: 'Wh', stateClass: 'total_increasing', precision: 0 },
  { key: 'voltage', name: 'Voltage', component: 'sensor', template: '{{ value_json.volts }}', deviceClass: 'voltage', unit: 'V', stateClass: 'measurement', precision: 1 },
  { key: 'current', name: 'Current', component: 'sensor', template: '{{ value_json.amps }}', deviceClass: 'current', unit: 'A', stateClass: 'measurement', precision: 2 },
  { key: 'frequency', name: 'Frequency', component: 'sensor', template: '{{ value_json.hertz }}', deviceClass: 'frequency', unit: 'Hz', stateClass: 'measurement', precision: 3 },
  { key: 'power_factor', name: 'Power factor', component: 'sensor', template: '{{ value_json.powerFactor }}', deviceClass: 'power_factor', stateClass: 'measurement', precision: 3 },
  { key: 'thd_voltage', name: 'THD of voltage', component: 'sensor', template: '{{ value_json.thdV if value_json.thdV is not none else "unknown" }}', unit: '%', stateClass: 'measurement', precision: 2 },
  { key: 'thd_current', name: 'THD of current', component: 'sensor', template: '{{ value_json.thdI if value_json.thdI is not none else "unknown" }}', unit: '%', stateClass: 'measurement', precision: 2 },
  { key: 'relay', name: 'Supply', component: 'binary_sensor', template: "{{ 'ON' if value_json.relayOn else 'OFF' }}", deviceClass: 'power' },
  // Today's cost as Wattwall bills it (the tile's figure); it starts again at zero each local day,
  // and the message's day says since when (Home Assistant allows only `total` for money).
  { key: 'cost_today', name: 'Cost today', component: 'sensor', template: '{{ (value_json.cents / 100) | round(2) }}', deviceClass: 'monetary', stateClass: 'total', precision: 2, topic: 'cost', lastResetTemplate: "{{ value_json.day ~ 'T00:00:00' }}" },
];

/** The discovery messages of one meter (`prefix` is Home Assistant's, "homeassistant" by default). */
export function discoveryMessages(topics: Topics, meter: RemoteMeterInfo, options: { readonly prefix?: string; readonly siteName: string; readonly firmware?: string; readonly currency?: string }): DiscoveryMessage[] {
  const haPrefix = options.prefix ?? 'homeassistant';
  const objectBase = `wattwall_${topicLevel(topics.site)}_${topicLevel(meter.uid)}`;
  const device = {
    identifiers: [`wattwall_${meter.uid}`],
    name: meter.name,
    manufacturer: 'Wattwall',
    model: `CAN smart meter (${meter.kind})`,
    ...(options.firmware ? { sw_version: options.firmware } : {}),
    suggested_area: options.siteName,
  };
  return SENSORS.filter((s) => s.key !== 'energy_export' || meter.kind !== 'load' || meter.gridPoint).map((s) => ({
    topic: `${haPrefix}/${s.component}/${objectBase}/${s.key}/config`,
    payload: JSON.stringify({
      name: s.name,
      unique_id: `${objectBase}_${s.key}`,
      object_id: `${objectBase}_${s.key}`,
      state_topic: s.topic === 'cost' ? topics.cost(meter.uid) : topics.live(meter.uid),
      value_template: s.template,
      availability_topic: topics.availability,
      payload_available: 'online',
      payload_not_available: 'offline',
      ...(s.deviceClass ? { device_class: s.deviceClass } : {}),
      ...(s.unit ? { unit_of_measurement: s.unit } : s.deviceClass === 'monetary' ? { unit_of_measurement: options.currency ?? 'EUR' } : {}),
      ...(s.stateClass ? { state_class: s.stateClass } : {}),
      ...(s.lastResetTemplate ? { last_reset_value_template: s.lastResetTemplate } : {}),
      ...(s.precision === undefined ? {} : { suggested_display_precision: s.precision }),
      device,
    }),
  }));
}
