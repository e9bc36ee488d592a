import { ChangeFileError } from '../errors.js';
import { checksumOf } from './checksum.js';
import type { ChangeDefinition, ChangeUnit } from './change-types.js';
import { compareIds, normaliseDefinition } from './file-loader.js';

/**
 * Changes given in code (`createDelta({ changes: [...] })`). Each needs an
 * `id`; its checksum covers the id and the source text of its functions, so
 * editing an applied in-memory change shows as `modified` like a file would.
 */
export function changesFromDefinitions(definitions: readonly ChangeDefinition[]): ChangeUnit[] {
  const units = definitions.map((definition, index) => {
    const label = `changes[${index}]${typeof definition.id === 'string' ? ` (${definition.id})` : ''}`;
    const source = [definition.id, definition.commit?.toString(), definition.rollback?.toString()].join('\n');
    return normaliseDefinition(definition as unknown as Record<string, unknown>, { label, file: undefined, defaultId: undefined, checksum: checksumOf(source) });
  });
  const seen = new Set<string>();
  for (const unit of units) {
    if (seen.has(unit.id)) throw new ChangeFileError(`changes: duplicate change id ${JSON.stringify(unit.id)}`, undefined);
    seen.add(unit.id);
  }
  return units.sort((a, b) => compareIds(a.id, b.id));
}
