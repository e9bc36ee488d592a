// The parts of expectations and rehearsals that need no database: limits against counts, and
// fingerprints compared as multisets (duplicates counted, at most 5 example _ids, masked values).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare } from '../../src/rehearse/compare.js';
import type { CollectionPrint, Fingerprint } from '../../src/rehearse/fingerprint.js';
import { canonical } from '../../src/rehearse/fingerprint.js';
import { brokenExpectations } from '../../src/runner/expectations.js';

function print(documents: string[], indexes: Record<string, string> = {}, masked = documents): CollectionPrint {
  return { type: 'collection', options: '{}', validator: 'null', indexes: new Map(Object.entries(indexes)), documents: [...documents].sort(), maskedDocuments: [...masked].sort() };
}

describe('expect limits against write counts', () => {
  it('names the collection, the count and the limit for max and min; counts of other collections are not limited', () => {
    const tally = {
      writes: new Map([
        ['users', { matched: 12, modified: 12, inserted: 0, deleted: 0, upserted: 0 }],
        ['logs', { matched: 0, modified: 0, inserted: 900, deleted: 0, upserted: 0 }],
      ]),
      ddl: [],
    };
    assert.deepEqual(brokenExpectations({ writes: { users: { modified: { max: 10 } }, orders: { deleted: { max: 0 }, inserted: { min: 1 } } } }, tally), [
      'users: modified 12 documents, over its limit of 10 (expect.writes.users.modified.max)',
      'orders: inserted 0 documents, under its minimum of 1 (expect.writes.orders.inserted.min)',
    ]);
    assert.deepEqual(brokenExpectations({ writes: { users: { modified: { min: 12, max: 12 } } } }, tally), []);
    assert.deepEqual(brokenExpectations(undefined, tally), []);
  });
});

describe('rehearsal fingerprints compared', () => {
  it('counts repeated documents, lists at most 5 example _ids, and reports indexes missing, extra and changed', () => {
    const expected: Fingerprint = new Map([['orders', print(['1\ta', '1\ta', '2\tb', '3\tc', '4\td', '5\te', '6\tf', '7\tg'], { _id_: 'x', status_1: 's' })]]);
    const actual: Fingerprint = new Map([
      ['orders', print(['1\ta', '2\tB'], { _id_: 'x', status_1: 'S', at_1: 'a' })],
      ['extra', print([])],
    ]);
    const found = compare(expected, actual, false);
    assert.deepEqual(
      found.map((d) => [d.collection, d.what]),
      [
        ['extra', 'collection'],
        ['orders', 'index'],
        ['orders', 'index'],
        ['orders', 'documents'],
      ],
    );
    const documents = found.find((d) => d.what === 'documents');
    assert.match(documents?.detail ?? '', /^7 expected documents missing or changed, 1 document not expected \(2 documents, expected 8\)$/);
    assert.equal(documents?.examples?.length, 5);
    assert.deepEqual(compare(expected, expected, false), []);
  });

  it('compares masked hashes only when asked (a second commit makes new ObjectIds and dates)', () => {
    const first: Fingerprint = new Map([['logs', print(['a\t1'], {}, ['m\t1'])]]);
    const second: Fingerprint = new Map([['logs', print(['b\t2'], {}, ['m\t1'])]]);
    assert.equal(compare(first, second, false).length, 1);
    assert.deepEqual(compare(first, second, true), []);
  });

  it('hashes documents with their fields sorted', () => {
    assert.equal(canonical({ b: 1, a: { d: 2, c: [1, { f: 1, e: 2 }] } }), canonical({ a: { c: [1, { e: 2, f: 1 }], d: 2 }, b: 1 }));
    assert.notEqual(canonical({ a: [1, 2] }), canonical({ a: [2, 1] }));
  });
});
