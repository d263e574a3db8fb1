import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formerStreamsToDelete, type FormerStreamsLeasesDeletionStrategy } from '../../src/multistream/former-streams.ts';
import { accountOfStreamArn, multiStreamLeaseKey, parseStreamIdentifier, serializeStreamIdentifier, splitMultiStreamLeaseKey } from '../../src/multistream/multi-stream-lease-key.ts';
import { assertLeaseTableMode, LeaseTableModeError } from '../../src/multistream/lease-table-mode.ts';
import { StreamLeaseRefresher } from '../../src/multistream/stream-lease-refresher.ts';
import { fromItem, toItem } from '../../src/leases/dynamodb/lease-serializer.ts';
import type { Lease } from '../../src/leases/lease.ts';

const lease = (leaseKey: string, extra: Partial<Lease> = {}): Lease => ({
  leaseKey,
  leaseCounter: 1,
  checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
  ownerSwitchesSinceCheckpoint: 0,
  parentShardIds: [],
  childShardIds: [],
  ...extra,
});

describe('multi-stream lease keys', () => {
  it('round-trips the Java StreamIdentifier and lease key formats', () => {
    const id = serializeStreamIdentifier({ accountId: '123456789012', streamName: 'orders', creationEpoch: 1700000000 });
    assert.equal(id, '123456789012:orders:1700000000');
    assert.deepEqual(parseStreamIdentifier(id), { accountId: '123456789012', streamName: 'orders', creationEpoch: 1700000000 });
    assert.equal(multiStreamLeaseKey(id, 'shardId-000000000001'), '123456789012:orders:1700000000:shardId-000000000001');
    assert.deepEqual(splitMultiStreamLeaseKey('123456789012:orders:1700000000:shardId-000000000001'), { streamIdentifier: id, shardId: 'shardId-000000000001' });
    assert.equal(splitMultiStreamLeaseKey('shardId-000000000001'), undefined, 'a single-stream key');
    assert.equal(parseStreamIdentifier('orders'), undefined);
    assert.equal(accountOfStreamArn('arn:aws:kinesis:us-east-1:123456789012:stream/orders'), '123456789012');
  });

  it('serializes a multi-stream lease with the Java attributes streamName (the identifier) and shardId', () => {
    const stored = lease('1:s:2:shardId-000000000000', { streamIdentifier: '1:s:2', shardId: 'shardId-000000000000' });
    const item = toItem(stored);
    assert.deepEqual(item.streamName, { S: '1:s:2' });
    assert.deepEqual(item.shardId, { S: 'shardId-000000000000' });
    assert.deepEqual(fromItem(item), stored);
  });

  it("a stream's view: shard ids inside, full keys and attributes outside; parents stay shard ids", async () => {
    const written: Lease[] = [];
    const table = {
      listLeases: () => Promise.resolve([lease('1:a:2:shardId-1', { streamIdentifier: '1:a:2', shardId: 'shardId-1', parentShardIds: ['shardId-0'] }), lease('1:b:2:shardId-1', { streamIdentifier: '1:b:2', shardId: 'shardId-1' })]),
      createLeaseIfNotExists: (l: Lease) => (written.push(l), Promise.resolve(true)),
    } as unknown as ConstructorParameters<typeof StreamLeaseRefresher>[0];
    const view = new StreamLeaseRefresher(table, '1:a:2');
    assert.deepEqual(await view.listLeases(), [lease('shardId-1', { parentShardIds: ['shardId-0'] })]);
    await view.createLeaseIfNotExists(lease('shardId-2', { parentShardIds: ['shardId-1'] }));
    assert.deepEqual(written, [lease('1:a:2:shardId-2', { parentShardIds: ['shardId-1'], streamIdentifier: '1:a:2', shardId: 'shardId-2' })]);
  });

  it('refuses a table of the other mode with the cause and the fix', () => {
    assert.doesNotThrow(() => assertLeaseTableMode([lease('shardId-1')], false, 't'));
    assert.doesNotThrow(() => assertLeaseTableMode([lease('1:a:2:shardId-1', { streamIdentifier: '1:a:2' })], true, 't'));
    assert.doesNotThrow(() => assertLeaseTableMode([], true, 't'));
    assert.throws(() => assertLeaseTableMode([lease('shardId-1')], true, 't'), (e: Error) => e instanceof LeaseTableModeError && /holds single-stream leases/.test(e.message));
    assert.throws(() => assertLeaseTableMode([lease('1:a:2:shardId-1')], false, 't'), /holds multi-stream leases/);
  });
});

describe('former streams (Java FormerStreamsLeasesDeletionStrategy)', () => {
  const auto: FormerStreamsLeasesDeletionStrategy = { type: 'FORMER_STREAMS_AUTO_DETECTION_DEFERRED_DELETION', waitPeriodToDeleteFormerStreamsMs: 1000 };
  const base = { tracked: new Set(['a']), inLeaseTable: new Set(['a', 'b']), gone: new Set<string>(), pendingSince: new Map<string, number>() };

  it('auto-detection: an unlisted stream waits, then goes; listed again, it leaves the pending list', () => {
    const first = formerStreamsToDelete(auto, { ...base, now: 0 });
    assert.deepEqual(first.toDelete, []);
    assert.deepEqual([...first.pendingSince], [['b', 0]]);
    assert.deepEqual(formerStreamsToDelete(auto, { ...base, pendingSince: first.pendingSince, now: 999 }).toDelete, []);
    assert.deepEqual(formerStreamsToDelete(auto, { ...base, pendingSince: first.pendingSince, now: 1000 }).toDelete, ['b']);
    const revived = formerStreamsToDelete(auto, { ...base, tracked: new Set(['a', 'b']), pendingSince: first.pendingSince, now: 5000 });
    assert.deepEqual(revived.toDelete, []);
    assert.equal(revived.pendingSince.size, 0);
  });

  it('a stream gone from Kinesis (or recreated) goes at once whatever the strategy; a listed one never', () => {
    const none: FormerStreamsLeasesDeletionStrategy = { type: 'NO_STREAMS_LEASES_DELETION' };
    assert.deepEqual(formerStreamsToDelete(none, { ...base, now: 1e9 }).toDelete, []);
    assert.deepEqual(formerStreamsToDelete(none, { ...base, gone: new Set(['b']), now: 0 }).toDelete, ['b']);
    assert.deepEqual(formerStreamsToDelete(none, { ...base, gone: new Set(['a']), now: 0 }).toDelete, []);
  });

  it('provided: only the streams the application names, after the wait', () => {
    const provided: FormerStreamsLeasesDeletionStrategy = { type: 'PROVIDED_STREAMS_DEFERRED_DELETION', waitPeriodToDeleteFormerStreamsMs: 10, streamIdentifiersForLeaseCleanup: () => [] };
    const input = { ...base, inLeaseTable: new Set(['a', 'b', 'c']), provided: ['c', 'a'] };
    const first = formerStreamsToDelete(provided, { ...input, now: 0 });
    assert.deepEqual([...first.pendingSince.keys()], ['c']);
    assert.deepEqual(formerStreamsToDelete(provided, { ...input, pendingSince: first.pendingSince, now: 10 }).toDelete, ['c']);
  });
});
