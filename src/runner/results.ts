import type { ChangeState } from './plan.js';
import type { RecoveryStrategy, RepeatMode } from '../vocabulary/index.js';

export interface StatusEntry {
  readonly id: string;
  readonly state: ChangeState;
  readonly file: string | undefined;
  readonly description: string | undefined;
  readonly stage: string | undefined;
  /** The runner of the change: from its file, else from its record. */
  readonly runner: string | undefined;
  readonly author: string | undefined;
  readonly tags: readonly string[];
  readonly environments: readonly string[];
  /** `once` (versioned), `on-change` (repeatable), `always` (runAlways). */
  readonly repeat: RepeatMode;
  readonly recovery: RecoveryStrategy;
  /** Why a `skipped` change is left out, or why a failed/running one blocks commit. */
  readonly reason: string | undefined;
  readonly appliedAt: string | undefined;
  readonly rolledBackAt: string | undefined;
  readonly durationMs: number | undefined;
  readonly transactional: boolean | undefined;
  readonly error: string | undefined;
}

export interface StatusResult {
  readonly targetDb: string;
  /** The environment the states were computed for (`skipped` depends on it). */
  readonly env: string | undefined;
  /** The project's stages in run order; empty without stages. */
  readonly stages: readonly string[];
  readonly changes: readonly StatusEntry[];
  readonly summary: Readonly<Record<ChangeState, number>> & { readonly total: number };
  readonly lock: { readonly host: string; readonly pid: number; readonly command: string; readonly since: string; readonly expiresAt: string } | undefined;
}
