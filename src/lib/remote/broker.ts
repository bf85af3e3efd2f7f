/**
 * The broker as the remote layer sees it: publish, subscribe, messages in, connection status.
 * `connectBroker` builds it on mqtt.js over WebSockets (ws:// or wss://, the only transports a
 * browser has); tests of the layers above may give them any implementation. mqtt.js (330 KB) is
 * fetched with the first connection: a site without a broker never loads it.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { errorMessage } from '../errors';

export type BrokerStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface BrokerClient {
  readonly status: BrokerStatus;
  /** Resolves once the broker has the message (QoS 1: its PUBACK). */
  publish(topic: string, payload: string, options: { readonly qos: 0 | 1; readonly retain?: boolean }): Promise<void>;
  subscribe(filter: string, qos?: 0 | 1): Promise<void>;
  onMessage(handler: (topic: string, payload: Uint8Array, retained: boolean) => void): () => void;
  onStatus(handler: (status: BrokerStatus, detail?: string) => void): () => void;
  close(): Promise<void>;
}

export interface BrokerOptions {
  /** ws://host:port/path or wss://… */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly clientId: string;
  /** Published by the broker when this client vanishes without saying goodbye. */
  readonly will?: { readonly topic: string; readonly payload: string; readonly retain: boolean; readonly qos: 0 | 1 };
  /** Time between reconnection attempts, ms. */
  readonly reconnectMs?: number;
}

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
}

/** Checks a broker URL the user typed; throws BrokerError saying what is wrong. */
export function brokerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new BrokerError('the broker address is not a URL (ws://host:port/path or wss://…)');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new BrokerError('a browser reaches MQTT brokers over WebSockets only: use ws:// or wss://');
  return url.href;
}

class MqttJsBroker implements BrokerClient {
  readonly #client: MqttClient;
  readonly #messages = new Set<(topic: string, payload: Uint8Array, retained: boolean) => void>();
  readonly #statuses = new Set<(status: BrokerStatus, detail?: string) => void>();
  #status: BrokerStatus = 'connecting';

  constructor(client: MqttClient) {
    this.#client = client;
    this.#client.on('connect', () => this.#set('connected'));
    this.#client.on('reconnect', () => this.#set('reconnecting'));
    this.#client.on('offline', () => this.#set('offline'));
    this.#client.on('close', () => {
      if (this.#status === 'connected') this.#set('offline');
    });
    this.#client.on('error', (error) => this.#set(this.#status === 'connected' ? 'connected' : 'offline', errorMessage(error)));
    this.#client.on('message', (topic, payload, packet) => {
      for (const handler of this.#messages) handler(topic, new Uint8Array(payload), packet.retain === true);
    });
  }

  get status(): BrokerStatus {
    return this.#status;
  }

  publish(topic: string, payload: string, options: { readonly qos: 0 | 1; readonly retain?: boolean }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#client.publish(topic, payload, { qos: options.qos, retain: options.retain ?? false }, (error) => (error ? reject(new BrokerError(errorMessage(error))) : resolve()));
    });
  }

  subscribe(filter: string, qos: 0 | 1 = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#client.subscribe(filter, { qos }, (error) => (error ? reject(new BrokerError(errorMessage(error))) : resolve()));
    });
  }

  onMessage(handler: (topic: string, payload: Uint8Array, retained: boolean) => void): () => void {
    this.#messages.add(handler);
    return () => this.#messages.delete(handler);
  }

  onStatus(handler: (status: BrokerStatus, detail?: string) => void): () => void {
    this.#statuses.add(handler);
    return () => this.#statuses.delete(handler);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#client.end(false, {}, () => resolve()));
  }

  #set(status: BrokerStatus, detail?: string): void {
    this.#status = status;
    for (const handler of this.#statuses) handler(status, detail);
  }
}

export async function connectBroker(options: BrokerOptions): Promise<BrokerClient> {
  const url = brokerUrl(options.url);
  const o: IClientOptions = {
    clientId: options.clientId,
    clean: true,
    reconnectPeriod: options.reconnectMs ?? 3000,
    connectTimeout: 10_000,
    protocolVersion: 4,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
    ...(options.will ? { will: { topic: options.will.topic, payload: options.will.payload, retain: options.will.retain, qos: options.will.qos } } : {}),
  };
  // The default export: mqtt.js's browser bundle has no named exports.
  const { default: mqtt } = await import('mqtt');
  return new MqttJsBroker(mqtt.connect(url, o));
}
