// A TCP proxy that delays every chunk by half a round trip in each direction, so that the bench
// can run both tools as if the server were across a network (10 ms round trip: a server in
// another availability zone). Order is kept: Node runs timers of one duration first in, first out.
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import type { BenchServer } from './compare-harness.js';

export interface LatencyProxy {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on a free local port and forwards to `host:port`, each chunk `roundTripMs / 2` late each way. */
export async function startLatencyProxy(host: string, port: number, roundTripMs: number): Promise<LatencyProxy> {
  const oneWay = roundTripMs / 2;
  const sockets = new Set<Socket>();
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, oneWay);
    });
    // An end or error on one side ends the other once what is in flight has been delivered.
    from.on('close', () => setTimeout(() => to.destroy(), oneWay + 1));
    from.on('error', () => undefined);
  };
  const server = createServer((client) => {
    const upstream = connect(port, host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the latency proxy has no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The same server seen through the proxy: the tools get a URI to the proxy with
 * `directConnection=true` (else the driver would follow the replica set's advertised host and
 * bypass it); the harness's own checks keep their direct connection.
 */
export function behindProxy(server: BenchServer, proxy: LatencyProxy): BenchServer {
  return { ...server, uriFor: (db) => `mongodb://127.0.0.1:${proxy.port}/${db}?directConnection=true` };
}

/** Host and port of the server a URI names (one host: the sandbox). */
export function hostAndPort(uri: string): { host: string; port: number } {
  const match = /^mongodb:\/\/(?:[^@/]*@)?([^:/,?]+):(\d+)[/?]?/.exec(uri);
  if (match === null) throw new Error('the latency proxy needs a one-host mongodb:// URI');
  return { host: match[1] as string, port: Number(match[2]) };
}
