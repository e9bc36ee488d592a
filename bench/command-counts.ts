import type { Sandbox } from '../src/sandbox/index.js';

/** The commands the sandbox receives while `run` runs, counted by name (monitoring excluded). */
export async function countCommands(sandbox: Sandbox, run: () => Promise<unknown>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const listener = (event: { name: string }) => {
    counts[event.name] = (counts[event.name] ?? 0) + 1;
  };
  sandbox.on('command', listener);
  try {
    await run();
  } finally {
    sandbox.off('command', listener);
  }
  return counts;
}
