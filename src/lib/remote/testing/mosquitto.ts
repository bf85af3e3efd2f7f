/**
 * A real Mosquitto on loopback with a WebSockets listener, for the remote layer's tests (Debian's
 * mosquitto package; .ci/run installs it). Each instance gets its own port and its own config.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Mosquitto {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop): the broker came back. */
  restart(): Promise<void>;
}

export function mosquittoAvailable(): boolean {
  return spawnSync('mosquitto', ['-h']).status !== null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const { connect } = await import('node:net');
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startMosquitto(): Promise<Mosquitto> {
  const port = await freePort();
  const mqttPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wattwall-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  // Mosquitto 2.0 (Debian 12) will not start with a WebSockets listener alone, and cannot bind
  // one to an address (eclipse-mosquitto/mosquitto#2284, #3045): a plain MQTT listener on
  // loopback comes first. Persistence off: a restart is a broker that forgot everything, the
  // hardest case for catching up.
  writeFileSync(config, [`listener ${mqttPort} 127.0.0.1`, `listener ${port}`, 'protocol websockets', 'allow_anonymous true', 'persistence false', ''].join('\n'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('mosquitto', ['-c', config], { stdio: 'ignore' });
    await waitForPort(port);
  };
  await launch();
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  return { url: `ws://127.0.0.1:${port}`, port, stop, restart: launch };
}

export interface TcpProxy {
  readonly port: number;
  /** Drops every connection through it and refuses new ones: the site's network is gone. */
  cut(): void;
  /** Lets connections through again. */
  restore(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of the broker, so a test can cut one client off. */
export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const { createServer: createTcpServer, connect } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  let open = true;
  const server = createTcpServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    cut: () => {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore: () => {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
