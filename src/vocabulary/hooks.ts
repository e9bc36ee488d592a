// Code a configuration runs around a run and its changes, and the services changes receive.
import type { Db, MongoClient } from 'mongodb';
import type { DeltaError } from '../errors.js';
import type { ChangeOutcome, Direction, RunResult } from './results.js';

/** What every hook receives about the run. */
export interface RunHookContext {
  readonly runId: string;
  readonly command: Direction;
  readonly targetDb: string;
  readonly db: Db;
  readonly client: MongoClient;
  /** The ids the run will apply or revert, in order. */
  readonly planned: readonly string[];
  readonly services: Readonly<Record<string, unknown>>;
}

/** A change as hooks see it. */
export interface HookChange {
  readonly id: string;
  readonly file: string | undefined;
  readonly description: string | undefined;
}

/**
 * Code run around a run and its changes (`hooks` in a code configuration
 * file or `createDelta()`). A throwing `beforeAll`/`beforeEach` stops the run
 * before the change; `afterEach` sees every outcome; `onError` sees a failed
 * change (what it throws is reported, not rethrown); `afterAll` runs on
 * failure too, with the failure in its context.
 */
export interface DeltaHooks {
  beforeAll?(context: RunHookContext): Promise<void> | void;
  beforeEach?(context: RunHookContext & { readonly change: HookChange }): Promise<void> | void;
  afterEach?(context: RunHookContext & { readonly change: HookChange; readonly outcome: ChangeOutcome }): Promise<void> | void;
  onError?(context: RunHookContext & { readonly change: HookChange; readonly error: DeltaError }): Promise<void> | void;
  afterAll?(context: RunHookContext & { readonly result: RunResult }): Promise<void> | void;
}

export const HOOK_NAMES = ['beforeAll', 'beforeEach', 'afterEach', 'onError', 'afterAll'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** What a services factory receives. */
export interface ServicesContext {
  readonly db: Db;
  readonly client: MongoClient;
  readonly targetDb: string;
  readonly command: Direction;
}

/**
 * Builds the objects every change receives as `services` (an HTTP client, a
 * queue admin...), once per run that has work; each is disposed after the
 * run through `Symbol.asyncDispose`, `Symbol.dispose` or `close()`.
 */
export type ServicesFactory = (context: ServicesContext) => Promise<Readonly<Record<string, unknown>>> | Readonly<Record<string, unknown>>;
