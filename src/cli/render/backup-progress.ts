import type { Delta } from '../../api/create-delta.js';
import type { Output } from '../io.js';

interface Spinner {
  start(text: string): Spinner;
  succeed(text: string): Spinner;
  stop(): Spinner;
  text: string;
}

const BAR_WIDTH = 20;

/**
 * A progress bar per collection while a backup or restore copies documents
 * (documents done, of how many, and the rate), drawn with ora on a TTY only;
 * elsewhere it draws nothing (the command's summary names every collection).
 */
export async function attachBackupProgress(delta: Delta, output: Output): Promise<{ detach(): void }> {
  if (!output.interactive) return { detach: () => undefined };
  const { default: ora } = await import('ora');
  const spinner: Spinner = ora({ stream: output.stdout, discardStdin: false });
  let current: { key: string; started: number } | undefined;
  const off = delta.on('backup:progress', (p) => {
    const key = `${p.phase}:${p.collection}`;
    if (current?.key !== key) {
      current = { key, started: Date.now() };
      spinner.start(p.collection);
    }
    const seconds = Math.max((Date.now() - current.started) / 1000, 0.001);
    const rate = Math.round(p.documents / seconds);
    const total = p.totalDocuments;
    const share = total === undefined || total === 0 ? undefined : Math.min(p.documents / total, 1);
    const bar = share === undefined ? '' : `[${'#'.repeat(Math.round(share * BAR_WIDTH)).padEnd(BAR_WIDTH, '.')}] ${String(Math.round(share * 100)).padStart(3)}% `;
    const counts = `${count(p.documents)}${total === undefined ? '' : `/${count(total)}`} documents`;
    const text = `${p.phase === 'backup' ? 'backing up' : 'restoring'} ${p.collection} ${bar}${counts}, ${formatBytes(p.bytes)}, ${count(rate)} docs/s`;
    if (p.done) {
      spinner.succeed(text);
      current = undefined;
    } else spinner.text = text;
  });
  return {
    detach() {
      off();
      if (current !== undefined) spinner.stop();
    },
  };
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
