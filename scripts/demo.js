// `npm run demo`: the main job against the built-in sandbox, through the real CLI.
// status -> commit -> status -> rollback --to <second change> -> status -> commit
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../dist/sandbox/index.js';

const bin = fileURLToPath(new URL('../bin/delta.js', import.meta.url));
const path = fileURLToPath(new URL('../migrations-example/', import.meta.url));
const SECOND = '20240101090500_users_email_unique';

const sandbox = await startSandbox({ port: 0 });
const uri = sandbox.uri.replace('/?', '/demo?');
const env = { ...process.env, DELTA_URI: uri };

function delta(...args) {
  console.log(`\n$ delta ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args, '--path', path], { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`delta ${args.join(' ')} exited with ${code}`))));
  });
}

let failed = false;
try {
  console.log(`Sandbox listening at ${sandbox.uri} (in memory); DELTA_URI=${uri}`);
  await delta('status');
  await delta('commit');
  await delta('status');
  await delta('rollback', '--to', SECOND);
  await delta('status');
  await delta('commit');
} catch (error) {
  console.error(`demo failed: ${error.message}`);
  failed = true;
} finally {
  await sandbox.stop();
}
process.exitCode = failed ? 1 : 0;
