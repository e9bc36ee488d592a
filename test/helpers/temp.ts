import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TempProject {
  readonly dir: string;
  /** Writes a file (folders created as needed); returns its absolute path. */
  write(path: string, content: string): string;
  cleanup(): void;
}

/** A temporary folder with the given files (path -> content), removed by `cleanup()`. */
export function tempProject(files: Record<string, string> = {}): TempProject {
  const dir = mkdtempSync(join(tmpdir(), 'delta-test-'));
  const write = (path: string, content: string) => {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    return full;
  };
  for (const [path, content] of Object.entries(files)) write(path, content);
  return { dir, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
