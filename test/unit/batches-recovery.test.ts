// Planning with batched changes: interrupted or failed, they resume instead of blocking commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DriftError } from '../../src/errors.js';
import { planCommit } from '../../src/runner/index.js';
import type { HistoryEntry, RecordStatus } from '../../src/tracker/index.js';
import type { ChangeMetadata, ChangeRef } from '../../src/vocabulary/index.js';
import { NO_METADATA } from '../../src/vocabulary/index.js';

const ref = (id: string, metadata: Partial<ChangeMetadata> = {}): ChangeRef => ({
  id,
  file: `${id}.ts`,
  checksum: `sum-${id}`,
  description: undefined,
  stage: undefined,
  metadata: { ...NO_METADATA, ...metadata },
});
const record = (id: string, status: RecordStatus, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({ _id: id, changeId: id, status, checksum: `sum-${id}`, transactional: false, ...extra });

describe('batched changes in the plan', () => {
  it('runs an interrupted or failed batched change again (it resumes from its checkpoint)', () => {
    const history = [record('001_walk', 'running', { batches: true }), record('002_walk', 'failed', { batches: true, error: { message: 'disk full' } })];
    const plan = planCommit([ref('001_walk', { batches: true }), ref('002_walk', { batches: true }), ref('003_next')], history);
    assert.deepEqual(
      plan.pending.map((c) => c.id),
      ['001_walk', '002_walk', '003_next'],
    );
    assert.equal(plan.statuses.find((s) => s.id === '001_walk')?.reason, undefined);
  });

  it('blocks a batched change that asks for manual recovery, like any change without a transaction', () => {
    assert.throws(() => planCommit([ref('001_walk', { batches: true, recovery: 'manual' })], [record('001_walk', 'running')]), DriftError);
    assert.throws(() => planCommit([ref('001_plain')], [record('001_plain', 'running')]), DriftError);
  });
});
