// A TCP port on this machine that nothing listens on: bound on 127.0.0.1, then released. For a
// server about to be started on it (scripts/run-external.mjs, bench/startup.ts), or for a
// connection that must fail (test/helpers/server.ts). Plain JavaScript so that the scripts Node
// runs without tsx can import it; its types are in free-port.d.mts.
import { createServer } from 'node:net';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
