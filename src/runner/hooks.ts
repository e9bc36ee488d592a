import { HookFailedError, messageOf } from '../errors.js';
import type { DeltaHooks, HookName, ServicesContext, ServicesFactory } from '../vocabulary/index.js';

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

/**
 * Disposes what a services factory built: the object itself, or each service, whichever can be.
 * What the factory was given (delta's own client and database, in `keep`) is handed back as a
 * service at times, but is delta's to close, after the run: never disposed here.
 */
export async function disposeServices(services: Readonly<Record<string, unknown>>, keep: readonly unknown[] = []): Promise<void> {
  const dispose = async (value: unknown): Promise<boolean> => {
    if (typeof value !== 'object' || value === null || keep.includes(value)) return false;
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
