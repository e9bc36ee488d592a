import type { ChangeFunction, ChangeUnit, FormatFile, FormatMatch, TransactionMode } from '../../vocabulary/index.js';
import { NO_METADATA } from '../../vocabulary/index.js';

const PATTERNS = new Map<string, RegExp>();

/**
 * `<id>.commit<suffix>` / `<id>.rollback<suffix>`: the pair's id and the file's part in it.
 * `suffix` is a pattern (`\.mongosh\.js`); `accepts` may refuse what it matched (an extension
 * no program is configured for).
 */
export function matchPair(fileName: string, suffix: string, accepts: (matched: string) => boolean = () => true): FormatMatch | undefined {
  let pattern = PATTERNS.get(suffix);
  if (pattern === undefined) PATTERNS.set(suffix, (pattern = new RegExp(`^(.+)\\.(commit|rollback)(${suffix})$`)));
  const found = pattern.exec(fileName);
  return found === null || !accepts(found[3] as string) ? undefined : { id: found[1] as string, role: found[2] as 'commit' | 'rollback' };
}

/**
 * The change a commit/rollback pair of scripts makes: the file's id, name and checksum (of both
 * files), no metadata, time limit or backup of its own.
 */
export function pairedChange(
  file: FormatFile,
  made: { readonly runner: string; readonly transaction: TransactionMode | undefined; readonly commit: ChangeFunction; readonly rollback: ChangeFunction | undefined },
): ChangeUnit {
  return {
    id: file.id,
    file: file.file,
    checksum: file.checksum,
    description: undefined,
    stage: undefined,
    metadata: NO_METADATA,
    timeoutMs: undefined,
    backup: undefined,
    style: 'delta',
    ...made,
  };
}
