import type { Db, MongoClient } from 'mongodb';
import type { DeltaError } from '../errors.js';
import { HookFailedError, messageOf } from '../errors.js';
import type { Direction } from './events.js';
import type { ChangeOutcome, RunResult } from './results.js';

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

/** Calls a hook; its failure becomes a HookFailedError naming it (and the change). */
export async function callHook<C>(hooks: DeltaHooks | undefined, name: HookName, context: C, changeId?: string): Promise<void> {
  const hook = hooks?.[name] as ((context: C) => Promise<void> | void) | undefined;
  if (hook === undefined) return;
  try {
    await hook.call(hooks, context);
  } catch (error) {
    throw new HookFailedError(`${name} hook failed${changeId === undefined ? '' : ` at ${changeId}`}: ${messageOf(error)}`, name, { cause: error });
  }
}

/** Builds the run's services; a failing factory becomes a HookFailedError naming it. */
export async function buildServices(factory: ServicesFactory | undefined, context: ServicesContext): Promise<Readonly<Record<string, unknown>>> {
  if (factory === undefined) return {};
  try {
    return await factory(context);
  } catch (error) {
    throw new HookFailedError(`services factory failed: ${messageOf(error)}`, 'services', { cause: error });
  }
}

/** Disposes what a services factory built: the object itself, or each service, whichever can be. */
export async function disposeServices(services: Readonly<Record<string, unknown>>): Promise<void> {
  const dispose = async (value: unknown): Promise<boolean> => {
    if (typeof value !== 'object' || value === null) return false;
    const candidate = value as { [Symbol.asyncDispose]?: () => Promise<void>; [Symbol.dispose]?: () => void; close?: () => unknown };
    const asyncDispose = candidate[Symbol.asyncDispose];
    const syncDispose = candidate[Symbol.dispose];
    if (typeof asyncDispose === 'function') await asyncDispose.call(candidate);
    else if (typeof syncDispose === 'function') syncDispose.call(candidate);
    else if (typeof candidate.close === 'function') await candidate.close();
    else return false;
    return true;
  };
  if (await dispose(services)) return;
  for (const value of Object.values(services)) await dispose(value).catch(() => undefined);
}
