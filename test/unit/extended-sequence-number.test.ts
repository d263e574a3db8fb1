import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AT_TIMESTAMP,
  LATEST,
  SHARD_END,
  TRIM_HORIZON,
  SentinelCheckpoint,
  compareExtended,
  compareSequenceNumbers,
  esn,
  formatExtended,
  isSentinel,
  isSequenceNumber,
  toExtendedSequenceNumber,
  type ExtendedSequenceNumber,
} from '../../src/retrieval/extended-sequence-number.ts';
import { IllegalArgumentError } from '../../src/errors.ts';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

// 56-digit Kinesis sequence numbers (real-looking), ascending.
const K1 = '49590338271490256608559692538361571095921575989136588898';
const K2 = '49590338271490256608559692538361571095921575989136588899';
const K3 = '49590338271490256608559692540925702759324208523137515618';
const K4 = '50000000000000000000000000000000000000000000000000000000';

/** Strictly ascending, per the Java KCL's ExtendedSequenceNumber.compareTo. */
const ASCENDING: ExtendedSequenceNumber[] = [
  AT_TIMESTAMP,
  TRIM_HORIZON,
  LATEST,
  esn('0'),
  esn('0', 1),
  esn('1'),
  esn('9'),
  esn('10'),
  esn('10', 1),
  esn('10', 2),
  esn('99'),
  esn('100'),
  esn('4959033827149025660855969253836157109592157598913658889'), // 55 digits
  esn(K1),
  esn(K1, 1),
  esn(K1, 10),
  esn(K2),
  esn(K3),
  esn(K4),
  esn('9'.repeat(56)),
  esn('1' + '0'.repeat(127)),
  SHARD_END,
];

describe('compareExtended', () => {
  it('orders AT_TIMESTAMP < TRIM_HORIZON < LATEST < numbers < SHARD_END', () => {
    assert.equal(compareExtended(AT_TIMESTAMP, TRIM_HORIZON), -1);
    assert.equal(compareExtended(TRIM_HORIZON, LATEST), -1);
    assert.equal(compareExtended(LATEST, esn('0')), -1);
    assert.equal(compareExtended(esn('9'.repeat(128)), SHARD_END), -1);
    assert.equal(compareExtended(SHARD_END, AT_TIMESTAMP), 1);
    assert.equal(compareExtended(LATEST, TRIM_HORIZON), 1);
  });

  it('is a total order consistent with the ascending list (every pair, both ways)', () => {
    for (let i = 0; i < ASCENDING.length; i++) {
      for (let j = 0; j < ASCENDING.length; j++) {
        const a = ASCENDING[i]!;
        const b = ASCENDING[j]!;
        assert.equal(sign(compareExtended(a, b)), sign(i - j), `${formatExtended(a)} vs ${formatExtended(b)}`);
      }
    }
  });

  it('sorts a shuffled list back into order', () => {
    const shuffled = [...ASCENDING].reverse();
    [shuffled[3], shuffled[10]] = [shuffled[10]!, shuffled[3]!];
    assert.deepEqual([...shuffled].sort(compareExtended), ASCENDING);
  });

  it('orders decimal strings numerically whatever their length', () => {
    assert.equal(compareExtended(esn('9'), esn('10')), -1);
    assert.equal(compareExtended(esn('10'), esn('9')), 1);
    assert.equal(compareExtended(esn('199'), esn('1000')), -1);
    assert.equal(compareExtended(esn(K1), esn(K2)), -1);
    assert.equal(compareExtended(esn(K3), esn(K2)), 1);
    assert.equal(compareExtended(esn(K1), esn(K1)), 0);
  });

  it('breaks ties on the sub-sequence number', () => {
    assert.equal(compareExtended(esn(K1, 0), esn(K1, 1)), -1);
    assert.equal(compareExtended(esn(K1, 5), esn(K1, 4)), 1);
    assert.equal(compareExtended(esn(K1, 3), esn(K1, 3)), 0);
    assert.equal(compareExtended(esn('10', 10), esn('9', 99)), 1, 'the sequence number decides first');
    assert.equal(compareExtended(esn('9', 99), esn('10', 0)), -1);
  });

  it('sentinels equal themselves', () => {
    for (const s of [AT_TIMESTAMP, TRIM_HORIZON, LATEST, SHARD_END]) assert.equal(compareExtended(s, esn(s.sequenceNumber)), 0);
  });
});

describe('compareSequenceNumbers', () => {
  it('compares by length, then digits', () => {
    assert.equal(compareSequenceNumbers('9', '10'), -1);
    assert.equal(compareSequenceNumbers('10', '9'), 1);
    assert.equal(compareSequenceNumbers('123', '123'), 0);
    assert.equal(compareSequenceNumbers('123', '124'), -1);
    assert.equal(compareSequenceNumbers(K4, K3), 1);
  });

  it('agrees with BigInt on random decimal strings', () => {
    let x = 12345;
    const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    const num = (): string => {
      const len = 1 + (rnd() % 60);
      let s = String(1 + (rnd() % 9));
      while (s.length < len) s += String(rnd() % 10);
      return rnd() % 7 === 0 ? '0' : s;
    };
    for (let i = 0; i < 500; i++) {
      const a = num();
      const b = rnd() % 5 === 0 ? a : num();
      const expected = BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
      assert.equal(sign(compareSequenceNumbers(a, b)), expected, `${a} vs ${b}`);
    }
  });
});

describe('isSequenceNumber', () => {
  it('accepts non-negative decimal integers without leading zeros, up to 128 digits', () => {
    for (const ok of ['0', '1', '9', '10', K1, K4, '1'.repeat(128), '9'.repeat(128)]) assert.equal(isSequenceNumber(ok), true, ok);
  });

  it('rejects everything else', () => {
    const bad: unknown[] = [
      '',
      '00',
      '01',
      '007',
      '0' + K1,
      '1'.repeat(129),
      'abc',
      '12a',
      'a12',
      ' 1',
      '1 ',
      '1\n',
      '-1',
      '+1',
      '1.0',
      '1e3',
      '0x1F',
      '１２', // full-width digits
      'TRIM_HORIZON',
      'LATEST',
      'AT_TIMESTAMP',
      'SHARD_END',
      1,
      0,
      10n,
      null,
      undefined,
      {},
      ['1'],
    ];
    for (const v of bad) assert.equal(isSequenceNumber(v), false, typeof v === 'string' ? JSON.stringify(v) : String(v));
  });
});

describe('isSentinel', () => {
  it('recognises the four sentinel checkpoint values', () => {
    for (const s of Object.values(SentinelCheckpoint)) assert.equal(isSentinel(s), true, s);
  });

  it('rejects numbers and other strings', () => {
    for (const s of ['0', K1, 'trim_horizon', 'Latest', '', 'SHARD-END']) assert.equal(isSentinel(s), false, s);
  });

  it('rejects Object.prototype property names (toString, constructor, ...)', () => {
    for (const s of ['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__']) assert.equal(isSentinel(s), false, s);
  });
});

describe('toExtendedSequenceNumber', () => {
  it('builds a value from a valid sequence number and sub-sequence number', () => {
    assert.deepEqual(toExtendedSequenceNumber(K1), { sequenceNumber: K1, subSequenceNumber: 0 });
    assert.deepEqual(toExtendedSequenceNumber(K1, 12), { sequenceNumber: K1, subSequenceNumber: 12 });
    assert.deepEqual(toExtendedSequenceNumber('0', 0), { sequenceNumber: '0', subSequenceNumber: 0 });
  });

  it('throws IllegalArgumentError for bad sequence numbers', () => {
    for (const bad of ['', 'x', '01', 'LATEST', 5, undefined] as unknown[]) {
      assert.throws(() => toExtendedSequenceNumber(bad), IllegalArgumentError, String(bad));
    }
  });

  it('throws IllegalArgumentError for bad sub-sequence numbers', () => {
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1', null] as unknown[]) {
      assert.throws(() => toExtendedSequenceNumber(K1, bad), IllegalArgumentError, String(bad));
    }
  });
});

describe('formatExtended', () => {
  it('omits a zero sub-sequence number', () => {
    assert.equal(formatExtended(esn(K1)), K1);
    assert.equal(formatExtended(esn(K1, 3)), `${K1}.3`);
    assert.equal(formatExtended(SHARD_END), 'SHARD_END');
  });
});
