import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ShardRecordProcessorCheckpointer, type Checkpointer } from '../../src/checkpoint/checkpointer.ts';
import { IllegalArgumentError, ShutdownException } from '../../src/errors.ts';
import { SHARD_END, TRIM_HORIZON, LATEST, esn, type ExtendedSequenceNumber } from '../../src/retrieval/extended-sequence-number.ts';
import type { KinesisClientRecord } from '../../src/retrieval/kinesis-client-record.ts';

type Call = { op: 'set' | 'prepare'; leaseKey: string; value: ExtendedSequenceNumber; token: string };

/** Records every persistence call; `failWith` makes the next calls throw. */
class FakeCheckpointer implements Checkpointer {
  readonly calls: Call[] = [];
  failWith: Error | undefined;
  async setCheckpoint(leaseKey: string, value: ExtendedSequenceNumber, token: string): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.calls.push({ op: 'set', leaseKey, value: { ...value }, token });
  }
  async prepareCheckpoint(leaseKey: string, value: ExtendedSequenceNumber, token: string): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.calls.push({ op: 'prepare', leaseKey, value: { ...value }, token });
  }
  sets(): ExtendedSequenceNumber[] {
    return this.calls.filter((c) => c.op === 'set').map((c) => c.value);
  }
  prepares(): ExtendedSequenceNumber[] {
    return this.calls.filter((c) => c.op === 'prepare').map((c) => c.value);
  }
}

// Realistic 56-digit Kinesis sequence numbers, ascending.
const S1 = '49590338271490256608559692538361571095921575989136588898';
const S2 = '49590338271490256608559692540925702759324208523137515618';
const S3 = '49590338271490256608559692541000000000000000000000000000';
const S4 = '49590338271490256608559692599999999999999999999999999999';

function record(sequenceNumber: string, subSequenceNumber = 0): KinesisClientRecord {
  return {
    data: new Uint8Array([1, 2, 3]),
    partitionKey: 'pk',
    sequenceNumber,
    subSequenceNumber,
    aggregated: subSequenceNumber > 0,
    approximateArrivalTimestamp: new Date(0),
  };
}

function setup(last: ExtendedSequenceNumber = TRIM_HORIZON, largest?: ExtendedSequenceNumber): { cp: ShardRecordProcessorCheckpointer; store: FakeCheckpointer } {
  const store = new FakeCheckpointer();
  const cp = new ShardRecordProcessorCheckpointer('shardId-000000000001', store, 'token-1', last);
  if (largest) cp.setLargestPermitted(largest);
  return { cp, store };
}

describe('ShardRecordProcessorCheckpointer', () => {
  describe('checkpoint()', () => {
    it('writes the largest delivered value, with the shard id and concurrency token', async () => {
      const { cp, store } = setup(TRIM_HORIZON, esn(S2));
      await cp.checkpoint();
      assert.deepEqual(store.calls, [{ op: 'set', leaseKey: 'shardId-000000000001', value: esn(S2), token: 'token-1' }]);
      assert.deepEqual(cp.lastCheckpointValue, esn(S2));
    });

    it('follows setLargestPermitted as batches are delivered', async () => {
      const { cp, store } = setup(TRIM_HORIZON, esn(S1));
      await cp.checkpoint();
      cp.setLargestPermitted(esn(S3, 4));
      await cp.checkpoint();
      assert.deepEqual(store.sets(), [esn(S1), esn(S3, 4)]);
    });

    it('is a no-op when nothing new was delivered', async () => {
      const { cp, store } = setup(esn(S2));
      await cp.checkpoint();
      assert.deepEqual(store.calls, []);
      cp.setLargestPermitted(esn(S3));
      await cp.checkpoint();
      await cp.checkpoint();
      assert.deepEqual(store.sets(), [esn(S3)], 'the second checkpoint() repeats the last value and writes nothing');
    });
  });

  describe('checkpoint(sequenceNumber, subSequenceNumber?)', () => {
    it('writes any value with lastCheckpoint <= v <= largest delivered', async () => {
      const { cp, store } = setup(esn(S1), esn(S4));
      await cp.checkpoint(S2);
      await cp.checkpoint(S3, 2);
      await cp.checkpoint(S4);
      assert.deepEqual(store.sets(), [esn(S2), esn(S3, 2), esn(S4)]);
      assert.deepEqual(cp.lastCheckpointValue, esn(S4));
    });

    it('accepts any number when the last checkpoint is a sentinel', async () => {
      for (const start of [TRIM_HORIZON, LATEST, esn('AT_TIMESTAMP')]) {
        const { cp, store } = setup(start, esn(S2));
        await cp.checkpoint('0');
        await cp.checkpoint(S1);
        assert.deepEqual(store.sets(), [esn('0'), esn(S1)]);
      }
    });

    it('rejects a value beyond the last record delivered', async () => {
      const { cp, store } = setup(esn(S1), esn(S2));
      await assert.rejects(() => cp.checkpoint(S3), IllegalArgumentError);
      await assert.rejects(() => cp.checkpoint(S2, 1), IllegalArgumentError);
      assert.deepEqual(store.calls, []);
    });

    it('rejects a value below the last checkpoint', async () => {
      const { cp, store } = setup(esn(S2), esn(S4));
      await assert.rejects(() => cp.checkpoint(S1), IllegalArgumentError);
      await cp.checkpoint(S3);
      await assert.rejects(() => cp.checkpoint(S2), IllegalArgumentError);
      assert.deepEqual(store.sets(), [esn(S3)]);
    });

    it('rejects before anything was delivered (largest permitted is still the last checkpoint)', async () => {
      const { cp, store } = setup(TRIM_HORIZON);
      await assert.rejects(() => cp.checkpoint('1'), IllegalArgumentError);
      assert.deepEqual(store.calls, []);
    });

    it('rejects non-numeric and malformed sequence numbers with IllegalArgumentError', async () => {
      const { cp, store } = setup(TRIM_HORIZON, esn(S4));
      for (const bad of ['', 'abc', '12a', ' 1', '1 ', '-1', '+1', '1.5', '1e5', '0x10', '01', 'TRIM_HORIZON', 'LATEST', 'SHARD_END', 'AT_TIMESTAMP']) {
        await assert.rejects(() => cp.checkpoint(bad), IllegalArgumentError, JSON.stringify(bad));
      }
      // From untyped (JavaScript) callers.
      for (const bad of [undefined, null, 12345, {}, []] as unknown[]) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: it widens the overloads
        await assert.rejects(() => (cp.checkpoint as (...a: unknown[]) => Promise<void>)(bad), IllegalArgumentError, String(bad));
      }
      assert.deepEqual(store.calls, []);
    });

    it('rejects negative, fractional and non-number subSequenceNumbers with IllegalArgumentError', async () => {
      const { cp, store } = setup(TRIM_HORIZON, esn(S4, 10));
      for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
        await assert.rejects(() => cp.checkpoint(S2, bad), IllegalArgumentError, String(bad));
      }
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: it widens the overloads
      await assert.rejects(() => (cp.checkpoint as (...a: unknown[]) => Promise<void>)(S2, '1'), IllegalArgumentError);
      assert.deepEqual(store.calls, []);
    });

    it('fails with a rejected promise, not a synchronous throw', async () => {
      const { cp } = setup(TRIM_HORIZON, esn(S2));
      let p: Promise<void> | undefined;
      assert.doesNotThrow(() => {
        p = cp.checkpoint('nope');
      });
      await assert.rejects(p!, IllegalArgumentError);
    });

    it('compares sub-sequence numbers when the sequence numbers are equal', async () => {
      const { cp, store } = setup(esn(S2, 2), esn(S2, 5));
      await assert.rejects(() => cp.checkpoint(S2, 1), IllegalArgumentError, 'below the last checkpoint');
      await assert.rejects(() => cp.checkpoint(S2), IllegalArgumentError, 'S2.0 < S2.2');
      await assert.rejects(() => cp.checkpoint(S2, 6), IllegalArgumentError, 'beyond the largest delivered');
      await cp.checkpoint(S2, 3);
      await cp.checkpoint(S2, 5);
      assert.deepEqual(store.sets(), [esn(S2, 3), esn(S2, 5)]);
    });

    it('re-writing the current last checkpoint is a no-op', async () => {
      const { cp, store } = setup(esn(S2, 1), esn(S3));
      await cp.checkpoint(S2, 1);
      assert.deepEqual(store.calls, []);
      await cp.checkpoint(S3);
      await cp.checkpoint(S3);
      await cp.checkpoint(S3, 0);
      assert.deepEqual(store.sets(), [esn(S3)]);
    });

    it('orders decimal strings numerically, not lexically', async () => {
      const { cp, store } = setup(esn('9'), esn('100'));
      await cp.checkpoint('10');
      await cp.checkpoint('99');
      await assert.rejects(() => cp.checkpoint('9'), IllegalArgumentError);
      await assert.rejects(() => cp.checkpoint('1000'), IllegalArgumentError);
      assert.deepEqual(store.sets(), [esn('10'), esn('99')]);
    });
  });

  describe('overlapping checkpoints', () => {
    it('never move backwards: the later call is checked against what the earlier one stored', async () => {
      const { cp, store } = setup(TRIM_HORIZON, esn(S4));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow = store.setCheckpoint.bind(store);
      store.setCheckpoint = async (...args) => {
        await gate; // the first write is still in flight when the second call arrives
        return slow(...args);
      };
      const high = cp.checkpoint(S3);
      const low = cp.checkpoint(S1);
      release();
      await high;
      await assert.rejects(low, IllegalArgumentError);
      assert.deepEqual(store.sets(), [esn(S3)]);
      assert.deepEqual(cp.lastCheckpointValue, esn(S3));
    });

    it('run in call order', async () => {
      const { cp, store } = setup(TRIM_HORIZON, esn(S4));
      await Promise.all([cp.checkpoint(S1), cp.checkpoint(S2), cp.checkpoint(S3)]);
      assert.deepEqual(store.sets(), [esn(S1), esn(S2), esn(S3)]);
    });
  });

  describe('checkpoint(record)', () => {
    it('uses the record’s sequenceNumber and subSequenceNumber', async () => {
      const { cp, store } = setup(TRIM_HORIZON, esn(S3, 7));
      await cp.checkpoint(record(S1));
      await cp.checkpoint(record(S3, 3));
      assert.deepEqual(store.sets(), [esn(S1), esn(S3, 3)]);
    });

    it('validates the record’s position like an explicit value', async () => {
      const { cp, store } = setup(esn(S2), esn(S3, 1));
      await assert.rejects(() => cp.checkpoint(record(S1)), IllegalArgumentError);
      await assert.rejects(() => cp.checkpoint(record(S3, 2)), IllegalArgumentError);
      await assert.rejects(() => cp.checkpoint(record('not-a-number')), IllegalArgumentError);
      assert.deepEqual(store.calls, []);
    });
  });

  describe('shard end', () => {
    it('after markShardEnd, checkpoint() writes SHARD_END', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      cp.markShardEnd();
      await cp.checkpoint();
      assert.deepEqual(store.sets(), [SHARD_END]);
      assert.deepEqual(cp.lastCheckpointValue, SHARD_END);
      await cp.checkpoint();
      assert.equal(store.sets().length, 1, 'SHARD_END again is a no-op');
    });

    it('checkpoint(last delivered sequence number) is rewritten to SHARD_END', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      cp.markShardEnd();
      await cp.checkpoint(S3);
      assert.deepEqual(store.sets(), [SHARD_END]);
    });

    it('checkpoint(last delivered record) is rewritten to SHARD_END, aggregated records included', async () => {
      const { cp, store } = setup(esn(S1), esn(S3, 4));
      cp.markShardEnd();
      await cp.checkpoint(record(S3, 4));
      assert.deepEqual(store.sets(), [SHARD_END]);
    });

    it('still writes SHARD_END when the app already checkpointed the last sequence number (Java KCL bug #211)', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      await cp.checkpoint(S3); // in processRecords, before the shard end was known
      cp.markShardEnd();
      await cp.checkpoint(S3); // in shardEnded
      assert.deepEqual(store.sets(), [esn(S3), SHARD_END]);
      assert.deepEqual(cp.lastCheckpointValue, SHARD_END);
    });

    it('still writes SHARD_END via checkpoint() when the last sequence number was already checkpointed', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      await cp.checkpoint();
      cp.markShardEnd();
      await cp.checkpoint();
      assert.deepEqual(store.sets(), [esn(S3), SHARD_END]);
    });

    it('still writes SHARD_END for a shard with nothing delivered since the last checkpoint', async () => {
      const { cp, store } = setup(esn(S2));
      cp.markShardEnd();
      await cp.checkpoint();
      assert.deepEqual(store.sets(), [SHARD_END]);
      const empty = setup(TRIM_HORIZON);
      empty.cp.markShardEnd();
      await empty.cp.checkpoint();
      assert.deepEqual(empty.store.sets(), [SHARD_END]);
    });

    it('an earlier sequence number after shard end is written as is, and SHARD_END can follow', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      cp.markShardEnd();
      await cp.checkpoint(S2);
      await cp.checkpoint();
      assert.deepEqual(store.sets(), [esn(S2), SHARD_END]);
    });

    it('marking shard end twice keeps the last sequence number', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      cp.markShardEnd();
      cp.markShardEnd();
      await cp.checkpoint(S3);
      assert.deepEqual(store.sets(), [SHARD_END]);
    });

    it('SHARD_END is not accepted as an explicit string', async () => {
      const { cp } = setup(esn(S1), esn(S3));
      cp.markShardEnd();
      await assert.rejects(() => cp.checkpoint('SHARD_END'), IllegalArgumentError);
    });
  });

  describe('invalidate()', () => {
    it('makes every call reject with ShutdownException and persist nothing', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      cp.invalidate('the lease was lost');
      await assert.rejects(() => cp.checkpoint(), ShutdownException);
      await assert.rejects(() => cp.checkpoint(S2), ShutdownException);
      await assert.rejects(() => cp.checkpoint(record(S2)), ShutdownException);
      await assert.rejects(() => cp.checkpoint('garbage'), ShutdownException, 'shutdown is reported before validation');
      await assert.rejects(() => cp.prepareCheckpoint(), ShutdownException);
      await assert.rejects(() => cp.prepareCheckpoint(S2), ShutdownException);
      await assert.rejects(() => cp.prepareCheckpoint(record(S2)), ShutdownException);
      assert.deepEqual(store.calls, []);
    });

    it('names the reason in the message', async () => {
      const { cp } = setup(esn(S1), esn(S3));
      cp.invalidate('the lease was lost');
      await assert.rejects(() => cp.checkpoint(), (err: unknown) => err instanceof ShutdownException && /lease was lost/.test(err.message));
    });

    it('also fails a prepared checkpoint obtained before', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      const prepared = await cp.prepareCheckpoint(S2);
      cp.invalidate('the lease was lost');
      await assert.rejects(() => prepared.checkpoint(), ShutdownException);
      assert.deepEqual(store.sets(), []);
    });
  });

  describe('persistence failures', () => {
    it('propagate the ShutdownException and leave the last checkpoint unchanged', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      store.failWith = new ShutdownException('lease lost on write');
      await assert.rejects(() => cp.checkpoint(), ShutdownException);
      assert.deepEqual(cp.lastCheckpointValue, esn(S1));
      await assert.rejects(() => cp.prepareCheckpoint(S2), ShutdownException);
      store.failWith = undefined;
      await cp.checkpoint();
      assert.deepEqual(store.sets(), [esn(S3)], 'the same value is written once the store accepts it');
    });
  });

  describe('prepareCheckpoint', () => {
    it('persists a pending checkpoint and returns a PreparedCheckpointer that commits it', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      const prepared = await cp.prepareCheckpoint(S2, 1);
      assert.deepEqual(prepared.pendingCheckpoint(), esn(S2, 1));
      assert.deepEqual(store.calls, [{ op: 'prepare', leaseKey: 'shardId-000000000001', value: esn(S2, 1), token: 'token-1' }]);
      assert.deepEqual(cp.lastCheckpointValue, esn(S1), 'preparing does not move the checkpoint');
      await prepared.checkpoint();
      assert.deepEqual(store.sets(), [esn(S2, 1)]);
      assert.deepEqual(cp.lastCheckpointValue, esn(S2, 1));
    });

    it('with no argument prepares the largest delivered value', async () => {
      const { cp, store } = setup(esn(S1), esn(S3, 2));
      const prepared = await cp.prepareCheckpoint();
      assert.deepEqual(prepared.pendingCheckpoint(), esn(S3, 2));
      assert.deepEqual(store.prepares(), [esn(S3, 2)]);
    });

    it('with a record prepares its position', async () => {
      const { cp, store } = setup(esn(S1), esn(S3, 2));
      const prepared = await cp.prepareCheckpoint(record(S3, 1));
      assert.deepEqual(prepared.pendingCheckpoint(), esn(S3, 1));
      assert.deepEqual(store.prepares(), [esn(S3, 1)]);
    });

    it('does nothing when the value equals the last checkpoint', async () => {
      const { cp, store } = setup(esn(S2), esn(S3));
      const prepared = await cp.prepareCheckpoint(S2);
      assert.deepEqual(prepared.pendingCheckpoint(), esn(S2));
      await prepared.checkpoint();
      assert.deepEqual(store.calls, []);
      const noneDelivered = setup(esn(S2));
      const p2 = await noneDelivered.cp.prepareCheckpoint();
      assert.deepEqual(p2.pendingCheckpoint(), esn(S2));
      await p2.checkpoint();
      assert.deepEqual(noneDelivered.store.calls, []);
    });

    it('validates like checkpoint', async () => {
      const { cp, store } = setup(esn(S2), esn(S3));
      await assert.rejects(() => cp.prepareCheckpoint(S1), IllegalArgumentError);
      await assert.rejects(() => cp.prepareCheckpoint(S4), IllegalArgumentError);
      await assert.rejects(() => cp.prepareCheckpoint('x1'), IllegalArgumentError);
      await assert.rejects(() => cp.prepareCheckpoint(S3, -1), IllegalArgumentError);
      assert.deepEqual(store.calls, []);
    });

    it('prepares SHARD_END for the last sequence number after shard end', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      cp.markShardEnd();
      const prepared = await cp.prepareCheckpoint(S3);
      assert.deepEqual(prepared.pendingCheckpoint(), SHARD_END);
      await prepared.checkpoint();
      assert.deepEqual(store.calls.map((c) => [c.op, c.value.sequenceNumber]), [
        ['prepare', 'SHARD_END'],
        ['set', 'SHARD_END'],
      ]);
    });

    it('a prepared checkpoint overtaken by a later checkpoint is rejected when committed', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      const prepared = await cp.prepareCheckpoint(S2);
      await cp.checkpoint(S3);
      await assert.rejects(() => prepared.checkpoint(), IllegalArgumentError);
      assert.deepEqual(store.sets(), [esn(S3)]);
    });

    it('committing a prepared checkpoint twice writes once', async () => {
      const { cp, store } = setup(esn(S1), esn(S3));
      const prepared = await cp.prepareCheckpoint(S2);
      await prepared.checkpoint();
      await prepared.checkpoint();
      assert.deepEqual(store.sets(), [esn(S2)]);
    });
  });
});
