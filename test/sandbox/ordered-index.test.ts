// Unit tests of the planner's building blocks (no server): the sorted block list, index key
// extraction and order, index maintenance across document versions, bounds and scan ranges.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Double, Long, MaxKey, MinKey, ObjectId } from 'bson';
import type { DocChain } from '../../src/sandbox/doc-versions.js';
import { fieldBounds, inInterval, predicateBounds } from '../../src/sandbox/index-bounds.js';
import { compareKeyValues, EMPTY_ARRAY_KEY } from '../../src/sandbox/index-keys.js';
import { OrderedIndex } from '../../src/sandbox/ordered-index.js';
import { rangePosition, scanRanges } from '../../src/sandbox/scan-ranges.js';
import { SortedList } from '../../src/sandbox/sorted-list.js';

function chain(rid: number): DocChain {
  return { idKey: `n${rid}`, rid, versions: [], lockedBy: undefined };
}

/** A deterministic pseudo-random sequence. */
function* numbers(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    yield x;
  }
}

describe('SortedList', () => {
  it('keeps random inserts and removals in order across block splits, with ranks and bounds', () => {
    const list = new SortedList<number>((a, b) => a - b);
    const reference = new Set<number>();
    const random = numbers(7);
    for (let i = 0; i < 5000; i++) {
      const value = (random.next().value as number) % 3000;
      if (i % 3 === 2 && reference.has(value)) {
        assert.equal(list.remove(value), true);
        reference.delete(value);
      } else {
        list.insert(value);
        reference.add(value);
      }
    }
    const expected = [...reference].sort((a, b) => a - b);
    assert.deepEqual([...list.values()], expected);
    assert.equal(list.size, expected.length);
    assert.equal(list.remove(-1), false);
    for (const target of [0, 1, 1500, 2999, 5000]) {
      const position = list.lowerBound((item) => item - target);
      const index = expected.findIndex((value) => value >= target);
      if (index < 0) assert.equal(position, undefined);
      else {
        assert.ok(position);
        assert.equal(list.at(position), expected[index]);
        assert.equal(list.rank(position), index);
      }
      const before = list.lastAtOrBefore((item) => item - target);
      const last = expected.filter((value) => value <= target).at(-1);
      assert.equal(before === undefined ? undefined : list.at(before), last);
    }
    const backward: number[] = [];
    for (let p = list.last(); p !== undefined; p = list.step(p, -1)) backward.push(list.at(p));
    assert.deepEqual(backward, [...expected].reverse());
  });
});

describe('index keys', () => {
  it('orders values as BSON does: MinKey, empty array, null, numbers of every type, strings, objects, ObjectId, booleans, dates, MaxKey', () => {
    const ordered = [
      new MinKey(),
      EMPTY_ARRAY_KEY,
      null,
      Number.NaN,
      -5,
      new Long(2),
      new Double(2.5),
      3,
      '',
      'a',
      'b',
      { a: 1 },
      new ObjectId('000000000000000000000001'),
      false,
      true,
      new Date(0),
      new MaxKey(),
    ];
    for (let i = 0; i + 1 < ordered.length; i++) assert.ok(compareKeyValues(ordered[i], ordered[i + 1]) < 0, `${i}`);
    assert.equal(compareKeyValues(new Long(2), 2), 0);
    assert.equal(compareKeyValues(new Double(2), 2), 0);
  });

  it('extracts multikey, missing, empty-array and dotted keys; compound keys in pattern order with descending fields', () => {
    const single = new OrderedIndex({ name: 'a_1', keyPattern: { a: 1 } });
    assert.deepEqual(single.keysOf({ a: [3, 1, 3] }), [1, 3]);
    assert.equal(single.multikey[0], true);
    assert.deepEqual(single.keysOf({}), [null]);
    assert.deepEqual(single.keysOf({ a: [] }), [EMPTY_ARRAY_KEY]);
    const dotted = new OrderedIndex({ name: 'a.b_1', keyPattern: { 'a.b': 1 } });
    assert.deepEqual(dotted.keysOf({ a: [{ b: 2 }, { c: 1 }, 5] }), [null, 2]);
    assert.deepEqual(dotted.keysOf({ a: { b: 'x' } }), ['x']);
    assert.equal(dotted.multikey[0], true);
    const compound = new OrderedIndex({ name: 'a_1_b_-1', keyPattern: { a: 1, b: -1 } });
    assert.deepEqual(compound.keysOf({ a: 1, b: [1, 2] }), [
      [1, 2],
      [1, 1],
    ]);
    assert.ok(compound.compareKeys([1, 5], [1, 4]) < 0, 'b descending');
    const sparse = new OrderedIndex({ name: 's', keyPattern: { a: 1 }, sparse: true });
    assert.deepEqual(sparse.keysOf({ b: 1 }), []);
    assert.deepEqual(sparse.keysOf({ a: null }), [null]);
  });

  it('reconcile moves a chain between keys and keeps rows of every version it still holds', () => {
    const index = new OrderedIndex({ name: 'a_1', keyPattern: { a: 1 } });
    const c1 = chain(1);
    const c2 = chain(2);
    const v1 = { _id: 1, a: 5 };
    const v2 = { _id: 1, a: 9 };
    index.add(c1, [v1]);
    index.add(c2, [{ _id: 2, a: 5 }]);
    index.reconcile(c1, [v1], [v1, v2]);
    assert.deepEqual(
      [...index.rows.values()].map((row) => [row.k, row.c.rid]),
      [
        [5, 1],
        [5, 2],
        [9, 1],
      ],
    );
    index.reconcile(c1, [v1, v2], [v2]);
    assert.deepEqual(
      [...index.rows.values()].map((row) => [row.k, row.c.rid]),
      [
        [5, 2],
        [9, 1],
      ],
    );
    index.reconcile(c1, [v2], []);
    assert.deepEqual(
      [...index.rows.values()].map((row) => row.c.rid),
      [2],
    );
  });
});

describe('bounds and scan ranges', () => {
  it('brackets ranges by type and keeps multikey predicates apart', () => {
    const bounds = predicateBounds({ a: { $gt: 5, $lte: 10 }, b: 'x', $and: [{ a: { $ne: 7 } }, { c: { $in: [3, 1, 3] } }], d: /re/ });
    const a = fieldBounds(bounds.get('a'), false);
    assert.ok(a);
    assert.equal(a.length, 1);
    const interval = a[0];
    assert.ok(interval);
    assert.ok(inInterval(6, interval) && inInterval(10, interval) && !inInterval(11, interval) && !inInterval('6', interval) && !inInterval(null, interval));
    assert.equal(fieldBounds(bounds.get('c'), false)?.length, 2);
    assert.equal(bounds.get('d'), undefined);
    const multikey = fieldBounds(bounds.get('a'), true);
    assert.ok(multikey?.[0] && inInterval(100, multikey[0]), 'one predicate only on a multikey field');
    assert.equal(fieldBounds(predicateBounds({ a: { $gt: 5, $lt: 3 } }).get('a'), false)?.length, 0);
  });

  it('builds ranges for equality prefixes times the next interval, in walk order', () => {
    const index = new OrderedIndex({ name: 'a_1_b_-1', keyPattern: { a: 1, b: -1 } });
    const predicates = predicateBounds({ a: { $in: [2, 1] }, b: { $gte: 3 } });
    const bounds = index.fields.map((field) => fieldBounds(predicates.get(field), false));
    const ranges = scanRanges(index, bounds, 1);
    assert.deepEqual(
      ranges.map((range) => range.prefix),
      [[1], [2]],
    );
    const first = ranges[0];
    assert.ok(first);
    assert.equal(rangePosition(index, first, [1, 5]), 0);
    assert.ok(rangePosition(index, first, [1, 2]) > 0, 'b descending: 2 comes after 3');
    assert.ok(rangePosition(index, first, [0, 9]) < 0);
    assert.deepEqual(
      scanRanges(index, bounds, -1).map((range) => range.prefix),
      [[2], [1]],
    );
  });
});
