// explain's queryPlanner.winningPlan for a plan, in mongod's classic-engine shape: COLLSCAN, or
// IXSCAN (keyPattern, indexName, direction, indexBounds) under FETCH, with SORT / SKIP / LIMIT /
// PROJECTION stages above as the query needs them.
import type { Document } from 'bson';
import { renderInterval } from './index-bounds.js';
import type { QueryPlan } from './query-planner.js';

export interface ExplainShape {
  readonly sort?: Document | undefined;
  readonly skip?: number | undefined;
  readonly limit?: number | undefined;
  readonly projection?: Document | undefined;
}

function indexStages(plan: QueryPlan, filter: Document): Document {
  if (plan.kind === 'collscan') {
    const scan: Document = { stage: 'COLLSCAN' };
    if (Object.keys(filter).length > 0) scan.filter = filter;
    scan.direction = 'forward';
    return scan;
  }
  const index = plan.index;
  const indexBounds: Document = {};
  index.fields.forEach((field, i) => {
    const bounds = plan.bounds[i];
    const reversed = (index.directions[i] as number) * plan.direction < 0;
    if (bounds === undefined) {
      indexBounds[field] = [reversed ? '[MaxKey, MinKey]' : '[MinKey, MaxKey]'];
      return;
    }
    const rendered = bounds.map((interval) => renderInterval(interval, reversed));
    indexBounds[field] = reversed ? rendered.reverse() : rendered;
  });
  const multiKeyPaths: Document = {};
  index.fields.forEach((field, i) => {
    multiKeyPaths[field] = index.multikey[i] === true ? [field] : [];
  });
  const ixscan: Document = {
    stage: 'IXSCAN',
    keyPattern: { ...index.keyPattern },
    indexName: index.name,
    isMultiKey: index.isMultikey,
    multiKeyPaths,
    isUnique: index.name === '_id_',
    isSparse: index.sparse,
    isPartial: index.partial,
    indexVersion: 2,
    direction: plan.direction === 1 ? 'forward' : 'backward',
    indexBounds,
  };
  const fetch: Document = { stage: 'FETCH' };
  if (Object.keys(filter).length > 0) fetch.filter = filter;
  fetch.inputStage = ixscan;
  return fetch;
}

/** The winningPlan document of `plan` answering `filter` with the query's sort/skip/limit/projection. */
export function explainPlan(plan: QueryPlan, filter: Document, shape: ExplainShape | undefined): Document {
  let stage = indexStages(plan, filter);
  const limit = shape?.limit !== undefined && shape.limit > 0 ? shape.limit : undefined;
  const blockingSort = shape?.sort !== undefined && !(plan.kind === 'ixscan' && plan.providesSort);
  if (blockingSort) {
    const sortStage: Document = { stage: 'SORT', sortPattern: shape?.sort, memLimit: 104857600, type: 'simple' };
    if (limit !== undefined) sortStage.limitAmount = limit + (shape?.skip ?? 0);
    sortStage.inputStage = stage;
    stage = sortStage;
  }
  if (shape?.skip !== undefined && shape.skip > 0) stage = { stage: 'SKIP', skipAmount: shape.skip, inputStage: stage };
  if (limit !== undefined && !blockingSort) stage = { stage: 'LIMIT', limitAmount: limit, inputStage: stage };
  if (shape?.projection !== undefined) stage = { stage: 'PROJECTION_DEFAULT', transformBy: shape.projection, inputStage: stage };
  return stage;
}
