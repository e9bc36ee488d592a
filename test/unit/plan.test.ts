import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DriftError, RollbackUnavailableError, UnknownChangeError, UsageError } from '../../src/errors.js';
import { assertRevertible, joinChanges, planCommit, planRepair, planRollback } from '../../src/runner/index.js';
import type { HistoryEntry, RecordStatus } from '../../src/tracker/index.js';
import type { ChangeMetadata, ChangeRef, ChangeUnit, StageSpec } from '../../src/vocabulary/index.js';
import { NO_METADATA } from '../../src/vocabulary/index.js';

function change(id: string, options: { checksum?: string; rollback?: boolean; stage?: string; metadata?: Partial<ChangeMetadata> } = {}): ChangeUnit {
  return {
    id,
    file: options.stage === undefined ? `${id}.ts` : `${options.stage}/${id}.ts`,
    checksum: options.checksum ?? `sum-${id}`,
    description: undefined,
    stage: options.stage,
    metadata: { ...NO_METADATA, ...options.metadata },
    transaction: undefined,
    timeoutMs: undefined,
    backup: undefined,
    style: 'delta',
    commit: () => undefined,
    rollback: options.rollback === false ? undefined : () => undefined,
  };
}

function record(id: string, status: RecordStatus, options: { checksum?: string; appliedAt?: Date; transactional?: boolean; error?: HistoryEntry['error'] } = {}): HistoryEntry {
  return {
    _id: id,
    changeId: id,
    status,
    checksum: options.checksum ?? `sum-${id}`,
    file: `${id}.ts`,
    appliedAt: options.appliedAt ?? new Date('2024-01-01T00:00:00Z'),
    transactional: options.transactional ?? true,
    ...(options.error === undefined ? {} : { error: options.error }),
  };
}

const stage = (name: string): StageSpec => ({ name, transaction: undefined, timeoutMs: undefined, parallel: false, concurrency: 4 });

describe('joinChanges', () => {
  it('derives every state from files and history', () => {
    const changes = [change('a'), change('b', { checksum: 'new' }), change('c'), change('d'), change('e'), change('f'), change('g')];
    const history = [record('a', 'applied'), record('b', 'applied'), record('c', 'failed'), record('d', 'running'), record('e', 'applied'), record('f', 'rolled_back'), record('0-old', 'applied')];
    const states = Object.fromEntries(joinChanges(changes, history).map((s) => [s.id, s.state]));
    assert.deepEqual(states, { a: 'applied', b: 'modified', c: 'failed', d: 'running', e: 'applied', f: 'rolled_back', g: 'pending', '0-old': 'missing' });
  });

  it('marks a pending change older than the newest applied one as out of order', () => {
    const states = joinChanges([change('a'), change('b'), change('c')], [record('a', 'applied'), record('c', 'applied')]).map((s) => s.state);
    assert.deepEqual(states, ['applied', 'out_of_order', 'applied']);
  });

  it('does not list a rolled-back record whose file is gone', () => {
    assert.deepEqual(joinChanges([], [record('old', 'rolled_back')]), []);
  });
});

describe('planCommit', () => {
  const files = [change('a'), change('b'), change('c'), change('d')];

  it('plans every pending change in id order, failed and rolled-back ones included', () => {
    const plan = planCommit(files, [record('a', 'applied'), record('b', 'failed'), record('c', 'rolled_back')]);
    assert.deepEqual(
      plan.pending.map((c) => c.id),
      ['b', 'c', 'd'],
    );
  });

  it('--to is inclusive; --only picks one', () => {
    assert.deepEqual(
      planCommit(files, [], { to: 'b' }).pending.map((c) => c.id),
      ['a', 'b'],
    );
    assert.deepEqual(
      planCommit(files, [], { only: 'c' }).pending.map((c) => c.id),
      ['c'],
    );
  });

  it('refuses an unknown --to or --only id', () => {
    assert.throws(() => planCommit(files, [], { to: 'zz' }), UnknownChangeError);
    assert.throws(() => planCommit(files, [], { only: 'zz' }), UnknownChangeError);
  });

  it('refuses --to older than the newest applied change', () => {
    assert.throws(
      () => planCommit(files, [record('a', 'applied'), record('b', 'applied'), record('c', 'applied')], { to: 'a' }),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /--to a is older than the newest applied change c/);
        return true;
      },
    );
  });

  it('refuses drift (modified or missing) unless allowed', () => {
    const history = [record('a', 'applied', { checksum: 'old' }), record('0gone', 'applied')];
    assert.throws(
      () => planCommit(files, history),
      (error: unknown) => {
        assert.ok(error instanceof DriftError);
        assert.match(error.message, /0gone \(file missing\), a \(file modified since it was applied\)/);
        return true;
      },
    );
    const allowed = planCommit(files, history, { allowDrift: true });
    assert.deepEqual(allowed.allowedDrift, ['0gone', 'a']);
    assert.deepEqual(
      allowed.pending.map((c) => c.id),
      ['b', 'c', 'd'],
    );
  });

  it('refuses to run over an interrupted change', () => {
    assert.throws(() => planCommit(files, [record('a', 'running')]), /a \(interrupted: a run died during it without a transaction\): it may be half-applied.*delta repair/);
  });

  it('refuses out-of-order pending changes unless --out-of-order', () => {
    const history = [record('a', 'applied'), record('c', 'applied')];
    assert.throws(() => planCommit(files, history), /b is pending but older than the newest applied change c/);
    assert.deepEqual(
      planCommit(files, history, { outOfOrder: true }).pending.map((c) => c.id),
      ['b', 'd'],
    );
  });
});

describe('planRollback', () => {
  const files = [change('a'), change('b'), change('c'), change('d', { rollback: false })];
  const history = [
    record('a', 'applied', { appliedAt: new Date('2024-01-01T00:00:00Z') }),
    record('b', 'applied', { appliedAt: new Date('2024-02-01T00:00:00Z') }),
    record('c', 'applied', { appliedAt: new Date('2024-03-01T00:00:00Z') }),
  ];
  const ids = (targets: { change: ChangeRef }[]) => targets.map((t) => t.change.id);

  it('defaults to the last applied change', () => assert.deepEqual(ids(planRollback(files, history)), ['c']));
  it('--steps N reverts the last N, newest first', () => assert.deepEqual(ids(planRollback(files, history, { steps: 2 })), ['c', 'b']));
  it('--to keeps the named change applied', () => assert.deepEqual(ids(planRollback(files, history, { to: 'a' })), ['c', 'b']));
  it('--id picks one change', () => assert.deepEqual(ids(planRollback(files, history, { id: 'b' })), ['b']));
  it('--since selects by applied time', () => assert.deepEqual(ids(planRollback(files, history, { since: new Date('2024-02-01T00:00:00Z') })), ['c', 'b']));
  it('--all reverts everything', () => assert.deepEqual(ids(planRollback(files, history, { all: true })), ['c', 'b', 'a']));
  it('nothing applied plans nothing', () => assert.deepEqual(planRollback(files, []), []));

  it('refuses unknown ids, an unapplied --id and combined selectors', () => {
    assert.throws(() => planRollback(files, history, { to: 'zz' }), UnknownChangeError);
    assert.throws(() => planRollback(files, history, { id: 'd' }), /--id d: this change is not applied/);
    assert.throws(() => planRollback(files, history, { to: 'a', steps: 1 }), UsageError);
  });

  it('refuses before reverting anything when a target has no file', () => {
    const withE = [...history, record('e', 'applied'), record('f', 'applied')];
    assert.throws(
      () => planRollback(files, withE, { all: true }),
      (error: unknown) => {
        assert.ok(error instanceof RollbackUnavailableError);
        assert.match(error.message, /nothing was reverted: f has no file any more; e has no file any more$/);
        return true;
      },
    );
  });

  it('assertRevertible refuses targets without a rollback function, naming each with its file', () => {
    const withD = [...history, record('d', 'applied')];
    const targets = planRollback(files, withD, { all: true }).map((t) => ({ change: files.find((f) => f.id === t.change.id) as ChangeUnit, record: t.record }));
    assert.throws(
      () => assertRevertible(targets),
      (error: unknown) => {
        assert.ok(error instanceof RollbackUnavailableError);
        assert.equal(error.message, 'cannot roll back, nothing was reverted: d (d.ts) has no rollback function');
        return true;
      },
    );
    assert.doesNotThrow(() => assertRevertible(targets.filter((t) => t.change.id !== 'd')));
  });
});

describe('planRepair', () => {
  const files = [change('a', { checksum: 'new-a' }), change('b'), change('c')];
  const history = [record('a', 'applied'), record('b', 'running'), record('gone', 'applied')];

  it('re-records modified checksums, marks running failed, leaves missing files unless asked', () => {
    const { actions, left } = planRepair(files, history);
    assert.deepEqual(actions, [
      { kind: 'update-checksum', changeId: 'a', before: 'sum-a', after: 'new-a' },
      { kind: 'mark-failed', changeId: 'b' },
    ]);
    assert.deepEqual(left, ['gone: its file is missing (pass --remove-missing to forget its history)']);
  });

  it('--remove-interrupted and --remove-missing remove those records instead', () => {
    const { actions, left } = planRepair(files, history, { removeInterrupted: true, removeMissing: true });
    assert.deepEqual(
      actions.map((a) => [a.kind, a.changeId]),
      [
        ['update-checksum', 'a'],
        ['remove-interrupted', 'b'],
        ['remove-missing', 'gone'],
      ],
    );
    assert.deepEqual(left, []);
  });
});

describe('plans with stages and metadata', () => {
  it('orders by stage, then id; out of order only inside a stage', () => {
    const stages = [stage('schema'), stage('data')];
    const changes = [change('b1', { stage: 'data' }), change('a5', { stage: 'schema' }), change('a1', { stage: 'schema' }), change('b0', { stage: 'data' })];
    const states = joinChanges(changes, [record('b1', 'applied'), record('a1', 'applied')], stages).map((s) => `${s.id}:${s.state}`);
    assert.deepEqual(states, ['a1:applied', 'a5:pending', 'b0:out_of_order', 'b1:applied']);
  });

  it('runs repeatable changes after versioned ones, when changed, and run-always ones every time', () => {
    const changes = [
      change('0_view', { metadata: { repeat: 'on-change' }, checksum: 'v2' }),
      change('0_same', { metadata: { repeat: 'on-change' } }),
      change('0_always', { metadata: { repeat: 'always' } }),
      change('1_a'),
    ];
    const history = [record('0_view', 'applied', { checksum: 'v1' }), record('0_same', 'applied'), record('0_always', 'applied')];
    const plan = planCommit(changes, history);
    assert.deepEqual(
      plan.pending.map((c) => c.id),
      ['1_a', '0_always', '0_view'],
    );
    assert.deepEqual(Object.fromEntries(plan.statuses.map((s) => [s.id, s.state])), { '0_always': 'up_to_date', '0_same': 'up_to_date', '0_view': 'changed', '1_a': 'pending' });
    assert.deepEqual(
      planCommit(changes, history, { to: '1_a' }).pending.map((c) => c.id),
      ['1_a'],
      'a partial run takes no repeatables',
    );
  });

  it('skips changes --env and --tags leave out, with the reason, and never calls them out of order', () => {
    const changes = [change('1_dev', { metadata: { environments: ['dev'] } }), change('2_billing', { metadata: { tags: ['billing'] } }), change('3_plain')];
    const prod = planCommit(changes, [record('3_plain', 'applied')], { env: 'prod' });
    assert.deepEqual(
      prod.pending.map((c) => c.id),
      ['2_billing'],
    );
    assert.equal(prod.statuses.find((s) => s.id === '1_dev')?.reason, 'only for environments dev (running prod)');
    const billing = planCommit(changes, [], { env: 'dev', tags: ['billing'] });
    assert.deepEqual(
      billing.pending.map((c) => c.id),
      ['2_billing'],
    );
    assert.throws(() => planCommit(changes, [], { only: '1_dev' }), /--only 1_dev: left out of this run: only for environments dev \(no --env given\)/);
  });

  it('blocks on a half-applied change unless its recovery is retry; a compensated, reviewed or transactional failure does not block', () => {
    const failedBare = record('a', 'failed', { transactional: false, error: { message: 'x' } });
    assert.throws(() => planCommit([change('a')], [failedBare]), /a \(failed without a transaction and nothing undid its effect\)/);
    assert.deepEqual(
      planCommit([change('a', { metadata: { recovery: 'retry' } })], [failedBare]).pending.map((c) => c.id),
      ['a'],
    );
    for (const error of [
      { message: 'x', compensated: true },
      { message: 'x', reviewed: true },
    ]) {
      assert.deepEqual(
        planCommit([change('a')], [record('a', 'failed', { transactional: false, error })]).pending.map((c) => c.id),
        ['a'],
      );
    }
    assert.deepEqual(
      planCommit([change('a')], [record('a', 'failed', { error: { message: 'x' } })]).pending.map((c) => c.id),
      ['a'],
    );
    assert.deepEqual(
      planRepair([change('a')], [failedBare]).actions.map((a) => a.kind),
      ['mark-reviewed'],
    );
  });

  it('rollback leaves repeatable changes alone unless named with --id', () => {
    const changes = [change('a'), change('v', { metadata: { repeat: 'on-change' } })];
    const history = [record('a', 'applied'), record('v', 'applied')];
    assert.deepEqual(
      planRollback(changes, history, { all: true }).map((t) => t.change.id),
      ['a'],
    );
    assert.deepEqual(
      planRollback(changes, history, { id: 'v' }).map((t) => t.change.id),
      ['v'],
    );
  });
});
