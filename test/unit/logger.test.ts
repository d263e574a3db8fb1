import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stderrLogger, childLogger, errorFields } from '../../src/common/logger.ts';

describe('the default logger (no logger given)', () => {
  it('writes warnings and errors as one readable line each, with the bindings and the cause', () => {
    const lines: string[] = [];
    const logger = childLogger(childLogger(stderrLogger((l) => lines.push(l)), { workerId: 'w1' }), { component: 'ShardConsumer', shardId: 'shardId-000000000001' });
    logger.warn({ attempt: 2, ...errorFields(new TypeError('bad input')) }, 'GetRecords failed; backing off and retrying');
    logger.error('Lease table gone');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN ts-kcl: GetRecords failed; backing off and retrying \(workerId=w1, component=ShardConsumer, shardId=shardId-000000000001, attempt=2, err=TypeError: bad input\)$/);
    assert.match(lines[1]!, / ERROR ts-kcl: Lease table gone \(workerId=w1, component=ShardConsumer, shardId=shardId-000000000001\)$/);
    assert.ok(lines.every((l) => !l.includes('\n')));
  });

  it('drops debug and info', () => {
    const lines: string[] = [];
    const logger = stderrLogger((l) => lines.push(l));
    logger.debug('x');
    logger.info({ a: 1 }, 'y');
    assert.deepEqual(lines, []);
  });
});
