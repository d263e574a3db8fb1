// What a lease-table call is for, from its input alone: the bench splits billed capacity by it.
// The lease table holds shard leases, the 3.x leader lock (`Leader`), the client-version item
// (`Migration3.0`) and each worker's WORKER_METRIC_STATS item (keyed by its worker id).
const RENEW_ATTRIBUTES = new Set(['leaseCounter', 'throughputKBps']);

/** A lease UpdateItem that only moves the counter (and throughput) is a renewal; anything else takes, assigns or checkpoints. */
function isRenewal(input) {
  const expr = input.UpdateExpression ?? '';
  if (/\b(REMOVE|ADD|DELETE)\b/.test(expr)) return false;
  const names = [...expr.matchAll(/(#\w+)\s*=/g)].map(([, n]) => input.ExpressionAttributeNames?.[n] ?? n);
  return names.length > 0 && names.every((n) => RENEW_ATTRIBUTES.has(n));
}

/** Scans by shape: the 2.x probe counts, worker metrics filter on entityType, the taker reads leases, the 3.x leader reads all. */
function scanKind(input) {
  if (input.Select === 'COUNT') return 'Scan unowned-lease probe (COUNT)';
  const values = JSON.stringify(input.ExpressionAttributeValues ?? {});
  if (values.includes('WORKER_METRIC_STATS')) return 'Scan worker metrics';
  if (input.FilterExpression) return 'Scan leases (filtered)';
  return input.ConsistentRead ? 'Scan whole table (consistent)' : 'Scan whole table';
}

export function callKind(command, input, workerId) {
  const op = command.replace(/Command$/, '');
  const key = input.Key?.leaseKey?.S ?? input.Item?.leaseKey?.S;
  if (key === 'Leader') return `${op} leader lock`;
  if (key === 'Migration3.0') return `${op} Migration3.0`;
  if (key !== undefined && key === workerId) return `${op} worker metrics`;
  if (op === 'Query') return input.IndexName ? `Query ${input.IndexName}` : 'Query';
  if (op === 'Scan') return scanKind(input);
  if (op === 'UpdateItem' && key !== undefined && Object.values(input.ExpressionAttributeNames ?? {}).includes('releaseSignal')) return 'UpdateItem release signal';
  if (op === 'UpdateItem' && key !== undefined) return isRenewal(input) ? 'UpdateItem renew' : 'UpdateItem lease take/assign/checkpoint';
  return key !== undefined ? `${op} lease` : op;
}
