// Issue 16: the old owner of a lease in a KCL 3.x graceful handoff checkpoints while it hands over. The
// leader's initiateGracefulLeaseHandoff sets leaseOwner := new and checkpointOwner := old without moving
// the counter; Java's updateLease is conditional on the counter only, so the old owner's checkpoint
// lands. Conditional on the owner too, ts-kcl refused it, dropped the lease without shutdownRequested,
// and the records of the batch were delivered again by the new owner (seen in java-fleet-3x.test.ts).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, type TestEnv } from '../support/env.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { TRIM_HORIZON, esn } from '../../src/retrieval/extended-sequence-number.ts';

const SEQ = '49590338271490256608559692538361571095921575989136588898';

describe('a checkpoint during a KCL 3.x graceful handoff', () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv('kinesalite');
  });
  after(async () => {
    await env?.close();
  });

  it('lands for the old owner before it has seen the handoff, and a write that moved the counter still refuses it', async () => {
    const name = uniqueName('handoff');
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, name);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(10000);
    await refresher.createLeaseIfNotExists({ leaseKey: 'shard-1', leaseCounter: 0, checkpoint: TRIM_HORIZON, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] });
    const held = (await refresher.getLease('shard-1'))!;
    assert.ok(await refresher.takeLease(held, 'old-owner'));
    // The leader's handoff, as Java writes it (DynamoDBLeaseRefresher.initiateGracefulLeaseHandoff): no counter change.
    await env.dynamodb.send(
      new UpdateItemCommand({
        TableName: name,
        Key: { leaseKey: { S: 'shard-1' } },
        UpdateExpression: 'SET leaseOwner = :new, checkpointOwner = :old',
        ConditionExpression: 'leaseOwner = :old AND attribute_not_exists(checkpointOwner)',
        ExpressionAttributeValues: { ':new': { S: 'new-owner' }, ':old': { S: 'old-owner' } },
      }),
    );
    held.checkpoint = esn(SEQ);
    assert.equal(await refresher.updateLease(held), true, 'the old owner’s checkpoint lands');
    const stored = (await refresher.getLease('shard-1'))!;
    assert.deepEqual({ checkpoint: stored.checkpoint, leaseOwner: stored.leaseOwner, checkpointOwner: stored.checkpointOwner }, { checkpoint: esn(SEQ), leaseOwner: 'new-owner', checkpointOwner: 'old-owner' }, 'the handoff is untouched');
    // Once someone moved the counter (a take, an assignment), the stale holder's checkpoint is refused.
    assert.ok(await refresher.takeLease(stored, 'thief'));
    held.checkpoint = esn(`${SEQ.slice(0, -1)}9`);
    assert.equal(await refresher.updateLease(held), false);
  });

  it('a stale holder re-checkpointing the stored value after a take is refused, not read back as landed', async () => {
    // The soak caught it: w4's checkpoint failed its counter condition because w2 had taken the lease;
    // the read that decides a refused write found the counter at w4's "next" (w2's take) and the same
    // checkpoint (w4 re-stored what was there), took the write for landed, and w4 went on checkpointing.
    const name = uniqueName('stale');
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, name);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(10000);
    await refresher.createLeaseIfNotExists({ leaseKey: 'shard-2', leaseCounter: 0, checkpoint: esn(SEQ), ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] });
    const stale = (await refresher.getLease('shard-2'))!;
    assert.ok(await refresher.takeLease(stale, 'w4'));
    const seenByThief = (await refresher.getLease('shard-2'))!;
    assert.ok(await refresher.takeLease(seenByThief, 'w2')); // the counter moves to exactly w4's next
    assert.equal(await refresher.updateLease(stale), false, 'w4 no longer holds it');
    assert.equal((await refresher.getLease('shard-2'))!.leaseOwner, 'w2');
  });
});
