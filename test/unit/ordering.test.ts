import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareStrings } from '../../src/ordering.ts';

describe('compareStrings', () => {
  it('orders by UTF-16 code units, whatever the locale: upper case before lower, digits before letters', () => {
    assert.deepEqual(['b', 'a', 'B', '10', '9', 'a'].sort(compareStrings), ['10', '9', 'B', 'a', 'a', 'b']);
  });
  it('is 0 only for equal strings', () => {
    assert.equal(compareStrings('x', 'x'), 0);
    assert.equal(compareStrings('x', 'y'), -1);
    assert.equal(compareStrings('y', 'x'), 1);
  });
});
