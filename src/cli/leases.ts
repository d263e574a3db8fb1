import { DynamoDBLeaseRefresher } from '../leases/dynamodb/dynamodb-lease-refresher.ts';
import type { Lease } from '../leases/lease.ts';
import { formatExtended } from '../retrieval/extended-sequence-number.ts';
import { AWS_FLAGS, clientConfigFrom, dynamoDBClient } from './aws-options.ts';
import { parseFlags, type CommandSpec } from './flags.ts';

export const LEASES: CommandSpec = {
  name: 'leases',
  summary: 'The lease table of an application: shard, owner, checkpoint, counter, parents, children.',
  flags: {
    app: { kind: 'string', value: 'NAME', help: 'application name (the lease table name)', required: true },
    table: { kind: 'string', value: 'NAME', help: 'lease table name when it differs from --app' },
    json: { kind: 'boolean', help: 'print JSON instead of a table' },
    ...AWS_FLAGS,
  },
};

/** `ts-kcl leases --app NAME`: the lease table, readable or as JSON. */
export async function runLeases(args: string[]): Promise<number> {
  const flags = parseFlags(LEASES, args);
  if (!flags) return 0;
  const app = flags.required('app');
  const client = dynamoDBClient(clientConfigFrom(flags));
  try {
    const leases = (await new DynamoDBLeaseRefresher(client, flags.string('table') ?? app, 'PAY_PER_REQUEST', 30000).listLeases()).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
    process.stdout.write(flags.boolean('json') ? JSON.stringify(leases.map(toJson), null, 2) + '\n' : formatLeaseTable(leases));
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
