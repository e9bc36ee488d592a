import type { CommandContext } from '../main.js';

/** `delta sandbox`: an in-memory MongoDB-compatible server in the foreground until Ctrl-C. */
export async function run(context: CommandContext<'sandbox'>): Promise<void> {
  const { output, options } = context;
  const { startSandbox } = await import('../../sandbox/index.js');
  const sandbox = await startSandbox({
    port: options.port,
    persistPath: options.data,
    log: (line) => output.warn(`sandbox: ${line}`),
  });
  if (output.options.json) output.json({ uri: sandbox.uri, port: sandbox.port });
  else {
    output.info(`delta sandbox: in-memory MongoDB-compatible server (replica set ${sandbox.replicaSetName ?? '(standalone)'})`);
    output.info(`  ${sandbox.uri}`);
    output.info(`  try: delta status --uri "${sandbox.uri.replace('/?', '/app?')}"`);
    output.info(options.data === undefined ? '  data lives in memory only; Ctrl-C to stop' : `  data saved to ${String(options.data)} on Ctrl-C`);
  }
  await new Promise<void>((resolve) => {
    if (context.interrupt.aborted) resolve();
    else context.interrupt.addEventListener('abort', () => resolve(), { once: true });
  });
  await sandbox.stop();
  output.info('delta sandbox: stopped');
}
