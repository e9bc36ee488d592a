// Reading explain output the way both the sandbox and MongoDB 7/8 answer it (classic plans, or
// SBE's `winningPlan.queryPlan`; `_id` lookups as IDHACK, EXPRESS_IXSCAN or IXSCAN), and checking
// that a planned query returns what a collection scan (`hint: { $natural: 1 }`) returns.
import assert from 'node:assert/strict';
import { EJSON } from 'bson';
import type { Collection, Document, FindOptions, Sort } from 'mongodb';
import type { Doc } from './conformance-helpers.js';

export interface PlanSummary {
  /** Every stage name from the top down. */
  readonly stages: string[];
  /** The index scan, if the plan has one. */
  readonly ixscan: Document | undefined;
}

/** The winning plan of an explain reply, whatever the engine. */
export function winningPlan(explain: Document): Document {
  const planner = (explain.queryPlanner ?? explain.stages?.[0]?.$cursor?.queryPlanner) as Document | undefined;
  assert.ok(planner, `no queryPlanner in ${JSON.stringify(explain).slice(0, 300)}`);
  const plan = planner.winningPlan as Document;
  return (plan.queryPlan as Document | undefined) ?? plan;
}

export function summarize(explain: Document): PlanSummary {
  const stages: string[] = [];
  let ixscan: Document | undefined;
  const visit = (stage: Document | undefined): void => {
    if (stage === undefined) return;
    const name = String(stage.stage);
    stages.push(name);
    if (name === 'IXSCAN' || name === 'EXPRESS_IXSCAN' || name === 'DISTINCT_SCAN' || name === 'COUNT_SCAN') ixscan ??= stage;
    if (name === 'IDHACK' || name === 'EXPRESS_IDHACK') ixscan ??= { indexName: '_id_', keyPattern: { _id: 1 }, direction: 'forward' };
    visit(stage.inputStage as Document | undefined);
    for (const input of (stage.inputStages as Document[] | undefined) ?? []) visit(input);
  };
  visit(winningPlan(explain));
  return { stages, ixscan };
}

/** Asserts the plan scans `indexName` (and in `direction`, when given) and has no blocking SORT when `sorted`. */
export function assertIndexPlan(explain: Document, indexName: string, options: { direction?: 'forward' | 'backward'; sorted?: boolean } = {}): void {
  const plan = summarize(explain);
  assert.ok(plan.ixscan, `expected an index scan of ${indexName}, got ${plan.stages.join(' > ')}`);
  assert.equal(plan.ixscan.indexName ?? '_id_', indexName, `plan: ${plan.stages.join(' > ')}`);
  if (options.direction !== undefined && plan.ixscan.direction !== undefined) assert.equal(plan.ixscan.direction, options.direction);
  if (options.sorted === true) assert.ok(!plan.stages.includes('SORT'), `expected the index to provide the sort: ${plan.stages.join(' > ')}`);
}

export function assertCollectionScan(explain: Document): void {
  const plan = summarize(explain);
  assert.ok(plan.stages.includes('COLLSCAN'), `expected a collection scan, got ${plan.stages.join(' > ')}`);
}

function text(document: Document): string {
  return EJSON.stringify(document, { relaxed: false });
}

/**
 * The planned query and a collection scan return the same documents; with a sort, in the same
 * order (`exactTies`: documents with equal sort keys too, which the sandbox guarantees and
 * MongoDB does not).
 */
export async function assertSameAsScan(c: Collection<Doc>, filter: Document, options: FindOptions = {}, exactTies = true): Promise<Document[]> {
  const planned: Document[] = await c.find(filter, options).toArray();
  const scanned: Document[] = await c.find(filter, { ...options, hint: { $natural: 1 } }).toArray();
  const label = `${JSON.stringify(filter)} ${JSON.stringify(options.sort ?? {})}`;
  if (options.sort === undefined || options.limit !== undefined) {
    // Unsorted results come in plan order; with a limit and ties, MongoDB may pick other equals.
    if (options.sort === undefined || exactTies) {
      if (options.sort !== undefined) assert.deepEqual(planned.map(text), scanned.map(text), label);
      else assert.deepEqual(planned.map(text).sort(), scanned.map(text).sort(), label);
      return planned;
    }
  }
  if (exactTies) {
    assert.deepEqual(planned.map(text), scanned.map(text), label);
  } else {
    const keys = (docs: Document[]) => docs.map((d) => text(pick(d, options.sort as Sort)));
    assert.deepEqual(keys(planned), keys(scanned), label);
    if (options.limit === undefined) assert.deepEqual(planned.map(text).sort(), scanned.map(text).sort(), label);
  }
  return planned;
}

function pick(document: Document, sort: Sort): Document {
  const out: Document = {};
  for (const path of Object.keys(sort as Document)) out[path] = path.split('.').reduce<unknown>((value, part) => (value as Document | undefined)?.[part], document) ?? null;
  return out;
}
