// The lease items the real Java KCL wrote (recorded by test/interop/record-java-leases.ts into
// test/fixtures), read through ts-kcl's serializer and written back: attribute for attribute, type for
// type. A schema change on either side fails here in milliseconds, without a JVM.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { fromItem, isLeaseItem, toItem, type Item } from '../../src/leases/dynamodb/lease-serializer.ts';
import { parseStreamIdentifier, splitMultiStreamLeaseKey } from '../../src/multistream/multi-stream-lease-key.ts';
import { assertLeaseTableMode } from '../../src/multistream/lease-table-mode.ts';
import { StreamLeaseRefresher } from '../../src/multistream/stream-lease-refresher.ts';
import type { LeaseRefresher } from '../../src/leases/lease-refresher.ts';

const DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** What KCL 3.x adds to a lease item; ts-kcl leaves them to 3.x (its updates never remove them, its take ends a handoff). */
const KCL3_LEASE_EXTRAS = new Set(['entityType']);

const fromJson = (json: Record<string, Record<string, unknown>>): Item =>
  Object.fromEntries(Object.entries(json).map(([k, v]) => [k, (typeof v.B === 'string' ? { B: new Uint8Array(Buffer.from(v.B, 'base64')) } : v) as unknown as AttributeValue]));

const fixtures = readdirSync(DIR).filter((f) => /^java-kcl-.*-leases\.json$/.test(f));

describe('lease items written by the Java KCL', () => {
  it('are recorded for 2.7.2 and 3.5.1, and 2.7.2 in multi-stream mode', () => {
    for (const v of ['2.7.2', '3.5.1', '2.7.2-multi']) assert.ok(fixtures.includes(`java-kcl-${v}-leases.json`), `fixture for ${v}`);
  });

  it('multi-stream (MultiStreamTracker): keys, streamName and shardId as ts-kcl writes them; the table is read as multi-stream, never as single', async () => {
    const { items } = JSON.parse(readFileSync(DIR + 'java-kcl-2.7.2-multi-leases.json', 'utf8')) as { items: Record<string, Record<string, Record<string, unknown>>> };
    const leases = Object.values(items).map((j) => fromItem(fromJson(j)));
    for (const l of leases) {
      const split = splitMultiStreamLeaseKey(l.leaseKey);
      assert.ok(split, `a multi-stream key: ${l.leaseKey}`);
      assert.equal(l.streamIdentifier, split.streamIdentifier);
      assert.equal(l.shardId, split.shardId);
      assert.ok(parseStreamIdentifier(split.streamIdentifier));
    }
    assert.doesNotThrow(() => assertLeaseTableMode(leases, true, 'app'));
    assert.throws(() => assertLeaseTableMode(leases, false, 'app'), /holds multi-stream leases/);
    // ts-kcl's view of the stream: shard ids as keys, lineage intact.
    const streamId = leases[0]!.streamIdentifier!;
    const view = new StreamLeaseRefresher({ listLeases: () => Promise.resolve(leases) } as unknown as LeaseRefresher, streamId);
    const seen = await view.listLeases();
    const ended = seen.find((l) => l.checkpoint.sequenceNumber === 'SHARD_END')!;
    assert.match(ended.leaseKey, /^shardId-\d+$/);
    assert.ok(seen.some((l) => ended.childShardIds.includes(l.leaseKey) && l.parentShardIds.includes(ended.leaseKey)), 'a child found by its shard id');
    // And ts-kcl writes what Java wrote: the view's stored form of a lease is the Java item.
    const child = items.childRunning!;
    assert.deepEqual(toItem(view.toStored(view.toShardView(fromItem(fromJson(child))))), fromJson(child));
  });

  for (const file of fixtures) {
    const { items } = JSON.parse(readFileSync(DIR + file, 'utf8')) as { items: Record<string, Record<string, Record<string, unknown>>> };
    describe(file, () => {
      for (const [state, json] of Object.entries(items)) {
        const item = fromJson(json);
        if (state.startsWith('other:')) {
          it(`${state}: not a lease, so never read, counted or deleted as one`, () => assert.equal(isLeaseItem(item), false));
          continue;
        }
        it(`${state}: read and written back attribute for attribute, type for type`, () => {
          assert.equal(isLeaseItem(item), true);
          const back = toItem(fromItem(item));
          const own = Object.keys(item).filter((k) => !KCL3_LEASE_EXTRAS.has(k));
          assert.deepEqual(Object.keys(back).sort(), own.sort(), 'the same attributes');
          for (const k of own) assert.deepEqual(back[k], item[k], `${k}: same type and value`);
        });
      }

      it('reads what each state means', () => {
        const lease = (state: string) => (items[state] ? fromItem(fromJson(items[state])) : undefined);
        const ended = lease('shardEnd')!;
        assert.equal(ended.checkpoint.sequenceNumber, 'SHARD_END');
        assert.equal(ended.childShardIds.length, 2);
        const child = lease('childRunning')!;
        // Parents and children are shard ids, also in multi-stream mode (where the lease key names the stream).
        assert.deepEqual(child.parentShardIds, [ended.shardId ?? ended.leaseKey]);
        assert.ok(ended.childShardIds.includes(child.shardId ?? child.leaseKey));
        const pending = lease('pendingCheckpoint')!;
        assert.equal(pending.pendingCheckpoint?.subSequenceNumber, 5, 'prepared in the middle of an aggregate');
        assert.equal(Buffer.from(pending.pendingCheckpointState!).toString(), 'state-agg-5');
        const fresh = lease('new')!;
        assert.equal(fresh.leaseOwner, undefined);
        assert.equal(fresh.checkpoint.sequenceNumber, 'TRIM_HORIZON');
        assert.ok(fresh.hashKeyRange);
      });
    });
  }
});
