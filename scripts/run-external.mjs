// `npm run test:external`: the database tests once more, over a connection string, against
// `delta sandbox` started as a separate process, so the MONGODB_URI path every real-server run
// takes (CI's MongoDB jobs, a developer's local replica set) is exercised on every submission.
// Cases that need the in-process sandbox (fault injection, restarts, command hooks) skip
// themselves with the reason printed, as they do against MongoDB.
//
//   npm run test:external                          the set CI runs (below)
//   npm run test:external -- test/integration test/e2e test/sandbox   every database test (~10 min on 2 cores)
//   node scripts/run-external.mjs <files or folders>   after `npm run build`
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { freePort } from './free-port.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
// The set .ci/run runs. CI has 20 minutes for everything and `npm test` takes about 7 of them;
// every database test over the external sandbox took 10 min 12 s on 2 cores (2026-12-07), too
// much to add. So: all of test/integration and test/sandbox, and the end-to-end files whose
// behaviour depends on running against a server of their own making or not: connection strings
// built from the server's (app-startup, bad-input, secrets, database-precedence), branches on
// `fixture.server.sandbox` (transaction-boundary), real processes sharing one server (lock,
// app-startup), listDatabases over a shared server (fleet-cli), and crash (skips itself).
// The other e2e files reach the database only through `fixture.uriFor` (test/helpers/
// connection-string.ts, checked over every URI shape by test/unit/connection-string.test.ts);
// they run against the sandbox in `npm test` and against MongoDB in .github/workflows/ci.yml.
// test/unit needs no database and runs in `npm test` only.
const DEFAULT_ROOTS = [
  'test/integration',
  'test/sandbox',
  ...['app-startup', 'bad-input', 'crash', 'database-precedence', 'fleet-cli', 'lock', 'secrets', 'transaction-boundary'].map((name) => `test/e2e/${name}.test.ts`),
];

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));

/** A port nothing listens on right now (bound to port 0, then released). */
/** Resolves once a driver completes a `ping` on `uri`; rejects after `timeoutMs` or when the sandbox exits. */
async function waitUntilAnswering(uri, sandbox, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (sandbox.exitCode !== null) throw new Error(`delta sandbox exited with code ${sandbox.exitCode} before answering`);
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1000 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`delta sandbox did not answer on ${uri} within ${timeoutMs} ms: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
}

/** Ctrl-C first (the sandbox stops cleanly), SIGKILL if it has not exited 5 s later. */
function stopSandbox(sandbox) {
  if (sandbox.exitCode !== null || sandbox.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => sandbox.kill('SIGKILL'), 5000);
    sandbox.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    sandbox.kill('SIGINT');
  });
}

/** The environment minus the caller's connection settings (the sandbox is a server, not a client). */
function withoutConnectionSettings(env) {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('DELTA_') && key !== 'MONGODB_URI' && key !== 'MIGRATIONS_DB_URI'));
}

/** Runs node with `args` and resolves with its exit status (the sandbox's output keeps draining meanwhile). */
function runNode(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

const port = await freePort();
const uri = `mongodb://127.0.0.1:${port}/?replicaSet=rs0`;
let sandboxLog = '';
const sandbox = spawn(process.execPath, ['bin/delta.js', 'sandbox', '--port', String(port), '--no-color'], {
  cwd: ROOT,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: withoutConnectionSettings(process.env),
});
const keep = (chunk) => {
  // Only the tail matters when something goes wrong; the log must not grow without bound.
  sandboxLog = (sandboxLog + chunk).slice(-20_000);
};
sandbox.stdout.setEncoding('utf8').on('data', keep);
sandbox.stderr.setEncoding('utf8').on('data', keep);

let status = 1;
const started = Date.now();
try {
  await waitUntilAnswering(uri, sandbox, 30_000);
  console.log(`test:external: delta sandbox (pid ${sandbox.pid}) answers on ${uri}`);
  status = await runNode(['scripts/run-tests.mjs', ...flags, ...(roots.length > 0 ? roots : DEFAULT_ROOTS)], { ...process.env, MONGODB_URI: uri });
  if (sandbox.exitCode !== null || sandbox.signalCode !== null) {
    console.error(`test:external: delta sandbox died during the run (code ${sandbox.exitCode}, signal ${sandbox.signalCode}); its last output:\n${sandboxLog}`);
    status = 1;
  }
} catch (error) {
  console.error(`test:external: ${error.message}\n${sandboxLog}`);
} finally {
  await stopSandbox(sandbox);
}
console.log(`test:external: ${status === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(status);
