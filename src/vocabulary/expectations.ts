// What a change may declare about its own effect (`expect`, `verify`), and how a run counts what
// a change wrote. Types only, so that loader (which checks them) and runner (which enforces
// them) share them without depending on each other.
import type { ChangeContext } from './change.js';

/** The document counts a server's write replies carry, per collection. */
export const WRITE_COUNT_KINDS = ['matched', 'modified', 'inserted', 'deleted', 'upserted'] as const;
export type WriteCountKind = (typeof WRITE_COUNT_KINDS)[number];

/** Documents a change matched, modified, inserted, deleted and upserted in one collection. */
export type WriteCounts = { readonly [K in WriteCountKind]: number };

/** Bounds on one count: `{ max: 1000 }`, `{ min: 1 }`, or both. */
export interface CountLimit {
  readonly min?: number;
  readonly max?: number;
}

/** The limits a change declares for one collection. */
export type CollectionLimits = { readonly [K in WriteCountKind]?: CountLimit };

/**
 * What a change is allowed to do, checked before its transaction commits:
 * `expect: { writes: { users: { modified: { max: 1000 } }, orders: { deleted: { max: 0 } } } }`.
 * A collection not named is not limited.
 */
export interface ChangeExpectations {
  readonly writes?: Readonly<Record<string, CollectionLimits>>;
}

/**
 * Checks the change's result after its `commit` and before its record, inside its transaction
 * when it has one (`ctx.session`); throwing fails the change (its transaction is aborted, or a
 * change without one is compensated by its rollback).
 */
export type VerifyFunction = (context: ChangeContext) => Promise<void> | void;

/** A catalog change a write command made (collections and indexes created, dropped, renamed...). */
export interface DdlAction {
  /** `createCollection`, `dropCollection`, `createIndex`, `dropIndex`, `renameCollection`, `collMod`, `dropDatabase`. */
  readonly action: string;
  readonly collection: string;
  /** The index name, or the new name of a renamed collection. */
  readonly name?: string;
}
