import { ChangeFileError } from '../errors.js';
import { checksumOf } from './checksum.js';
import { changeOrder } from './change-order.js';
import { normaliseDefinition } from './code-change.js';
import { inStage } from './file-loader.js';
import type { ChangeDefinition, ChangeUnit, StageSpec } from '../vocabulary/index.js';

/**
 * Changes given in code (`createDelta({ changes: [...] })`). Each needs an
 * `id`; its checksum covers the id and the source text of its functions, so
 * editing an applied in-memory change shows as `modified` like a file would.
 * With stages configured, each names its `stage`.
 */
export function changesFromDefinitions(definitions: readonly ChangeDefinition[], stages: readonly StageSpec[] = []): ChangeUnit[] {
  const byName = new Map(stages.map((stage) => [stage.name, stage]));
  const units = definitions.map((definition, index) => {
    const label = `changes[${index}]${typeof definition.id === 'string' ? ` (${definition.id})` : ''}`;
    const source = [definition.id, definition.commit?.toString(), definition.rollback?.toString()].join('\n');
    const unit = normaliseDefinition(definition as unknown as Record<string, unknown>, { label, file: undefined, defaultId: undefined, checksum: checksumOf(source) });
    const stage: unknown = definition.stage;
    if (stage === undefined && stages.length === 0) return unit;
    if (stage === undefined) throw new ChangeFileError(`${label}: stage is required: the configuration declares stages (${[...byName.keys()].join(', ')})`, undefined);
    const spec = typeof stage === 'string' ? byName.get(stage) : undefined;
    if (spec === undefined) {
      throw new ChangeFileError(
        `${label}: stage ${JSON.stringify(stage)} is not a configured stage${stages.length === 0 ? ' (the configuration declares none)' : ` (${[...byName.keys()].join(', ')})`}`,
        undefined,
      );
    }
    return inStage(unit, spec);
  });
  const seen = new Set<string>();
  for (const unit of units) {
    if (seen.has(unit.id)) throw new ChangeFileError(`changes: duplicate change id ${JSON.stringify(unit.id)}`, undefined);
    seen.add(unit.id);
  }
  return units.sort(changeOrder(stages));
}
