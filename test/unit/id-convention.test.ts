// How `delta create` continues a folder's naming: the pattern read from existing ids, and the next id.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectIdConvention, nextId } from '../../src/loader/id-convention.js';
import { idPatternProblem } from '../../src/vocabulary/index.js';

const NOW = new Date('2026-12-07T14:03:05Z');

describe('id conventions', () => {
  it('reads the pattern from the ids', () => {
    assert.equal(detectIdConvention([]).pattern, '{timestamp}_{name}');
    assert.equal(detectIdConvention(['20240101090000_users', '20240102090000_orders']).pattern, '{timestamp}_{name}');
    assert.equal(detectIdConvention(['20240101090000-users', '20240102090000-orders']).pattern, '{timestamp}-{name}');
    assert.equal(detectIdConvention(['0001_users', '0002_orders']).pattern, '{seq:4}_{name}');
    assert.equal(detectIdConvention(['add-users', 'backfill-names']).pattern, 'z{timestamp}-{name}');
    assert.equal(detectIdConvention(['add_users', 'zzz_names']).pattern, 'zzzz{timestamp}_{name}');
    // Mixed widths sort badly already: a z prefix still sorts after every one of them.
    assert.equal(detectIdConvention(['1_users', '10_orders']).pattern, 'z{timestamp}_{name}');
  });

  it('fills the pattern in after the existing ids', () => {
    assert.deepEqual(nextId('{timestamp}_{name}', [], 'users', NOW), { id: '20261207140305_users', sortsBefore: undefined });
    assert.deepEqual(nextId('{seq:3}_{name}', ['001_a', '009_b'], 'c', NOW), { id: '010_c', sortsBefore: undefined });
    assert.deepEqual(nextId('{seq}-{name}', [], 'first', NOW), { id: '1-first', sortsBefore: undefined });
    assert.deepEqual(nextId('z{timestamp}-{name}', ['add-users', 'backfill-names'], 'x', NOW), { id: 'z20261207140305-x', sortsBefore: undefined });
    assert.deepEqual(nextId('{timestamp}_{name}', ['add-users'], 'x', NOW), { id: '20261207140305_x', sortsBefore: 'add-users' });
  });

  it('every detected pattern is valid, and sorts its next id last', () => {
    for (const ids of [['20240101090000-a'], ['07_a', '08_b'], ['add-users', 'zebra'], ['Z-upper', 'a-lower']]) {
      const { pattern } = detectIdConvention(ids);
      assert.equal(idPatternProblem(pattern), undefined, pattern);
      assert.equal(nextId(pattern, ids, 'next', NOW).sortsBefore, undefined, `${pattern} after ${ids.join(', ')}`);
    }
  });

  it('refuses patterns that cannot order changes', () => {
    assert.match(idPatternProblem('{timestamp}') ?? '', /\{name\} once/);
    assert.match(idPatternProblem('{name}') ?? '', /exactly one of \{timestamp\}/);
    assert.match(idPatternProblem('{name}_{timestamp}') ?? '', /before \{name\}/);
    assert.match(idPatternProblem('a.b{seq}_{name}') ?? '', /only letters/);
    assert.equal(idPatternProblem('v{seq:3}-{name}'), undefined);
  });
});
