import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBLeaseRefresher } from '../leases/dynamodb/dynamodb-lease-refresher.ts';
import type { Lease } from '../leases/lease.ts';
import { formatExtended } from '../retrieval/extended-sequence-number.ts';
import { clientConfigFrom } from './aws-options.ts';

/** `ts-kcl leases --app NAME`: the lease table, readable or as JSON. */
export async function runLeases(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { app: { type: 'string' }, table: { type: 'string' }, endpoint: { type: 'string' }, region: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (!values.app) throw new Error('--app is required: the application name (the lease table name)');
  const cc = clientConfigFrom(values);
  const client = new DynamoDBClient({ region: cc.region, ...(cc.credentials ? { credentials: cc.credentials } : {}), ...(cc.endpoints.dynamodb ? { endpoint: cc.endpoints.dynamodb } : {}) });
  try {
    const leases = (await new DynamoDBLeaseRefresher(client, values.table ?? values.app).listLeases()).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
    process.stdout.write(values.json ? JSON.stringify(leases.map(toJson), null, 2) + '\n' : formatLeaseTable(leases));
    return 0;
  } finally {
    client.destroy();
  }
}

const toJson = (l: Lease): Record<string, unknown> => ({
  shardId: l.leaseKey,
  owner: l.leaseOwner ?? null,
  checkpoint: l.checkpoint,
  ...(l.pendingCheckpoint ? { pendingCheckpoint: l.pendingCheckpoint } : {}),
  leaseCounter: l.leaseCounter,
  ownerSwitchesSinceCheckpoint: l.ownerSwitchesSinceCheckpoint,
  parentShardIds: l.parentShardIds,
  childShardIds: l.childShardIds,
  ...(l.hashKeyRange ? { hashKeyRange: l.hashKeyRange } : {}),
});

/** Fixed-width columns: shard, owner, checkpoint, counter, parents, children. */
export function formatLeaseTable(leases: Lease[]): string {
  const rows = [
    ['SHARD', 'OWNER', 'CHECKPOINT', 'COUNTER', 'PARENTS', 'CHILDREN'],
    ...leases.map((l) => [l.leaseKey, l.leaseOwner ?? '-', shorten(formatExtended(l.checkpoint)), String(l.leaseCounter), l.parentShardIds.join(',') || '-', l.childShardIds.join(',') || '-']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + `\n${leases.length} lease(s)\n`;
}

const shorten = (s: string): string => (s.length > 24 ? `${s.slice(0, 8)}…${s.slice(-12)}` : s);
