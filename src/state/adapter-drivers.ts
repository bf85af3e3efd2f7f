/**
 * The adapters' drivers, the connection manager and the bus monitor: loaded with the first
 * connection (the demo bus's included), not with the first screen.
 */
export { AdapterConnection, anyGrantedAdapter, pickDevice, rememberDevice } from '../lib/can/connection';
export { openSlcanTransport } from '../lib/can/slcan/serial-transport';
export { BusMonitorState } from './bus-monitor.svelte';
