// The soak's rules as pure functions of what happened: the workers' event log, the producer's put log,
// the planned faults, the final shard graph and lease table. Each violation names its rule and evidence.

/** One line a worker process reported (see test/support/worker-process.ts), or a `processExit` the Cluster recorded. */
export interface SoakEvent {
  w: string;
  p?: number | undefined;
  at: number;
  t: string;
  shardId?: string | undefined;
  /** rec: record data and sequence numbers. */
  d?: string[] | undefined;
  s?: string[] | undefined;
  /** init: where the tenure starts. */
  from?: string | undefined;
  /** cp / cpFail: the checkpoint value. */
  seq?: string | undefined;
  [key: string]: unknown;
}

/** An acknowledged put: `id` is the record's data; `n` counts the records of `key` in put order; `at` is the acknowledgement. */
export interface Put {
  id: string;
  key: string;
  n: number;
  shardId: string;
  seq: string;
  at: number;
}

/** A fault the schedule caused: it excuses record waits in [at, excuseUntil] (on `shards` when given). */
export interface PlannedFault {
  kind: string;
  at: number;
  until: number;
  excuseUntil: number;
  workers: string[];
  shards?: string[];
}

export interface ShardInfo {
  shardId: string;
  parents: string[];
  closed: boolean;
}

export interface LeaseRow {
  leaseKey: string;
  checkpoint: string;
  owner?: string | undefined;
}

export interface SoakInput {
  events: SoakEvent[];
  puts: Put[];
  faults: PlannedFault[];
  shards: ShardInfo[];
  table: LeaseRow[];
  failoverMs: number;
  takerMs: number;
  /** The longest a single random fault may hold one call (a hung request runs to its deadline). */
  requestTimeoutMs: number;
  /** Scheduling slack on a loaded machine, added to every timing bound. */
  slackMs: number;
  /** The longest latency spike the proxies inject: a renewal that would reveal a steal can be that late. */
  latencyMaxMs?: number;
  /** Workers that had to be SIGKILLed after the final SIGTERM. */
  stuckOnStop: string[];
}

export interface Violation {
  rule: string;
  detail: string;
  evidence?: unknown;
}

export interface Figures {
  acknowledged: number;
  delivered: number;
  unique: number;
  duplicates: number;
  duplicateBound: number;
  tenures: number;
  checkpoints: number;
  checkpointFailures: number;
  maxOverlapMs: number;
  maxUnexcusedWaitMs: number;
  errors: number;
  warnings: number;
}

export interface SoakVerdict {
  violations: Violation[];
  figures: Figures;
}

/** One worker process's continuous holding of one shard: from `init` to its end (or the process's end). */
export interface Tenure {
  w: string;
  p: number | undefined;
  shardId: string;
  from: string;
  start: number;
  end: number;
  endKind: string;
  recs: { at: number; seqs: string[]; ids: string[] }[];
  cps: { at: number; seq: string }[];
}

/** See checkExclusive. */
const OVERLAP_SLACK_MS = 250;

const isSeq = (s: string | undefined): s is string => s !== undefined && /^\d+$/.test(s);
/** Orders sequence numbers; SHARD_END sorts after every sequence number, the sentinels before. */
const rank = (s: string): bigint => (isSeq(s) ? BigInt(s) : s === 'SHARD_END' ? 1n << 200n : -1n);
const sample = <T>(items: T[], n = 5): T[] => items.slice(0, n);

export function tenures(events: SoakEvent[]): Tenure[] {
  const all: Tenure[] = [];
  const open = new Map<string, Tenure>();
  const close = (key: string, at: number, kind: string): void => {
    const t = open.get(key);
    if (!t) return;
    t.end = at;
    t.endKind = kind;
    open.delete(key);
  };
  for (const e of events) {
    const key = `${e.p ?? e.w}/${e.shardId}`;
    if (e.t === 'init' && e.shardId) {
      close(key, e.at, 'reinit');
      const t: Tenure = { w: e.w, p: e.p, shardId: e.shardId, from: e.from ?? 'TRIM_HORIZON', start: e.at, end: Infinity, endKind: 'open', recs: [], cps: [] };
      all.push(t);
      open.set(key, t);
    } else if (e.t === 'rec' && e.shardId) {
      open.get(key)?.recs.push({ at: e.at, seqs: e.s ?? [], ids: e.d ?? [] });
    } else if (e.t === 'cp' && e.shardId && e.seq !== undefined) {
      open.get(key)?.cps.push({ at: e.at, seq: e.seq });
    } else if ((e.t === 'leaseLost' || e.t === 'shardEnded' || e.t === 'shutdownRequested') && e.shardId) {
      close(key, e.at, e.t);
    } else if (e.t === 'processExit' || e.t === 'exit') {
      for (const [k, t] of open) if ((t.p ?? t.w) === (e.p ?? e.w)) close(k, e.at, e.t);
    }
  }
  return all;
}

/** Acknowledged puts per shard, ordered by sequence number, for gap searches. */
function putsByShard(puts: Put[]): Map<string, { seq: bigint; put: Put }[]> {
  const by = new Map<string, { seq: bigint; put: Put }[]>();
  for (const put of puts) {
    const list = by.get(put.shardId) ?? [];
    list.push({ seq: BigInt(put.seq), put });
    by.set(put.shardId, list);
  }
  for (const list of by.values()) list.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  return by;
}

/** Acknowledged puts on a shard strictly between `low` and `high`. */
function between(list: { seq: bigint; put: Put }[], low: bigint, high: bigint): Put[] {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.seq <= low) lo = mid + 1;
    else hi = mid;
  }
  const out: Put[] = [];
  for (let i = lo; i < list.length && list[i]!.seq < high; i++) out.push(list[i]!.put);
  return out;
}

/** Every acknowledged record was processed at least once. */
export function checkAllProcessed(input: SoakInput, firstSeen: Map<string, number>): Violation[] {
  const missing = input.puts.filter((p) => !firstSeen.has(p.id));
  if (missing.length === 0) return [];
  const byShard: Record<string, number> = {};
  for (const p of missing) byShard[p.shardId] = (byShard[p.shardId] ?? 0) + 1;
  return [{ rule: 'allProcessed', detail: `${missing.length} of ${input.puts.length} acknowledged records never processed`, evidence: { byShard, sample: sample(missing) } }];
}

/** Per tenure: sequence order, nothing at or below its start checkpoint, no acknowledged record skipped (also at shard end). */
export function checkTenureOrder(input: SoakInput, all: Tenure[]): Violation[] {
  const out: Violation[] = [];
  const byShard = putsByShard(input.puts);
  for (const t of all) {
    const list = byShard.get(t.shardId) ?? [];
    const who = `${t.w}(pid ${t.p}) on ${t.shardId} from ${t.from} at ${t.start}`;
    let prev = isSeq(t.from) ? BigInt(t.from) : -1n;
    for (const rec of t.recs) {
      for (const s of rec.seqs) {
        const seq = BigInt(s);
        if (seq <= prev) out.push({ rule: 'tenureOrder', detail: `${who}: ${s} delivered after ${prev} (out of order or again)`, evidence: { at: rec.at } });
        else {
          const skipped = between(list, prev, seq);
          if (skipped.length > 0) out.push({ rule: 'tenureGap', detail: `${who}: ${skipped.length} acknowledged record(s) between ${prev} and ${s} skipped`, evidence: { at: rec.at, skipped: sample(skipped) } });
        }
        if (seq > prev) prev = seq;
      }
    }
    if (t.endKind === 'shardEnded') {
      const rest = between(list, prev, 1n << 200n);
      if (rest.length > 0) out.push({ rule: 'tenureGap', detail: `${who}: shard ended with ${rest.length} acknowledged record(s) after ${prev} undelivered`, evidence: sample(rest) });
    }
  }
  return out;
}

/**
 * Redelivery only past the last acknowledged checkpoint: a tenure may deliver again only records above every
 * checkpoint acknowledged (to any worker) before it began. With a checkpoint per batch that bounds duplicates
 * by one batch (plus the batch in flight) per change of holder. `slackMs` covers stdout's delay.
 */
export function checkDuplicates(input: SoakInput, all: Tenure[]): { violations: Violation[]; duplicates: number; bound: number } {
  const out: Violation[] = [];
  const seen = new Map<string, number>();
  let duplicates = 0;
  let bound = 0;
  const byShard = new Map<string, Tenure[]>();
  for (const t of all) byShard.set(t.shardId, [...(byShard.get(t.shardId) ?? []), t]);
  for (const list of byShard.values()) {
    const cps = list.flatMap((t) => t.cps).sort((a, b) => a.at - b.at);
    for (const t of [...list].sort((a, b) => a.start - b.start)) {
      const ackedCp = cps.filter((c) => c.at < t.start - input.slackMs).reduce<string | undefined>((m, c) => (m === undefined || rank(c.seq) > rank(m) ? c.seq : m), undefined);
      const acked = ackedCp === undefined ? -1n : rank(ackedCp);
      const earlier = list.filter((o) => o !== t && o.start < t.start);
      for (const o of earlier) bound += o.recs.flatMap((r) => r.seqs).filter((s) => BigInt(s) > acked && (!isSeq(t.from) || BigInt(s) > BigInt(t.from))).length;
      for (const rec of t.recs)
        rec.ids.forEach((id, i) => {
          if (seen.has(id)) {
            duplicates++;
            const s = rec.seqs[i] ?? '0';
            if (BigInt(s) <= acked) out.push({ rule: 'duplicatesBounded', detail: `${t.w} redelivered ${id} (${s}) on ${t.shardId}, at or below checkpoint ${ackedCp} acknowledged before its tenure (from ${t.from}) began at ${t.start}` });
          }
          seen.set(id, (seen.get(id) ?? 0) + 1);
        });
    }
  }
  return { violations: collapse(out), duplicates, bound };
}

/** Per partition key, records are first processed in put order (children only after parents). */
export function checkKeyOrder(input: SoakInput, firstSeen: Map<string, number>): Violation[] {
  const out: Violation[] = [];
  const byKey = new Map<string, Put[]>();
  for (const p of input.puts) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p]);
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.n - b.n);
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      if (a.shardId === b.shardId) continue;
      const atA = firstSeen.get(a.id);
      const atB = firstSeen.get(b.id);
      if (atA !== undefined && atB !== undefined && atB < atA)
        out.push({ rule: 'childAfterParent', detail: `key ${key}: #${b.n} on ${b.shardId} processed at ${atB}, before #${a.n} on ${a.shardId} at ${atA}` });
    }
  }
  return collapse(out);
}

/** A SIGSTOPped worker, once woken, never checkpoints a shard another worker took meanwhile, and delivers at most one more batch of it. */
export function checkZombies(input: SoakInput, all: Tenure[]): Violation[] {
  const out: Violation[] = [];
  for (const f of input.faults.filter((x) => x.kind === 'sigstop')) {
    for (const t of all.filter((x) => f.workers.includes(x.w) && x.start < f.at && x.end > f.at)) {
      const taken = all.filter((o) => o.shardId === t.shardId && o.p !== t.p && o.start > f.at).map((o) => o.start);
      if (taken.length === 0) continue;
      const takenAt = Math.min(...taken);
      const lateCps = t.cps.filter((c) => c.at > takenAt);
      if (lateCps.length > 0) out.push({ rule: 'zombieCheckpoint', detail: `${t.w} checkpointed ${t.shardId} ${lateCps.length} time(s) after another worker took it at ${takenAt}`, evidence: sample(lateCps) });
      const lateRecs = t.recs.filter((r) => r.at > f.until);
      if (lateRecs.length > 1) out.push({ rule: 'zombieStops', detail: `${t.w} delivered ${lateRecs.length} batches of ${t.shardId} after waking at ${f.until} (lost to another worker at ${takenAt})`, evidence: lateRecs.map((r) => r.at).slice(0, 5) });
    }
  }
  return out;
}

/** No shard delivered by two workers at once for longer than the renewal window (failover/3 + 250 ms). Returns the longest overlap. */
export function checkExclusive(input: SoakInput, all: Tenure[]): { violations: Violation[]; maxOverlapMs: number } {
  const out: Violation[] = [];
  // Both ends are Date.now() taken at delivery, in processes on one clock: no stdout or start-up delay
  // enters, only the deliveries' own scheduling jitter, hence a small fixed slack, not `slackMs`.
  // A stolen lease's holder learns of the steal from its next renewal's answer (as in the Java KCL): one
  // renewal interval, plus that answer's injected delay, at the most.
  const window = input.failoverMs / 3 + (input.latencyMaxMs ?? 0) + OVERLAP_SLACK_MS;
  let maxOverlapMs = 0;
  // A woken zombie's one batch is judged by checkZombies.
  const zombieBatch = (t: Tenure, at: number): boolean => input.faults.some((f) => f.kind === 'sigstop' && f.workers.includes(t.w) && at > f.at && at <= f.until + window);
  for (const a of all) {
    for (const b of all) {
      if (a === b || a.shardId !== b.shardId || a.p === b.p || a.start > b.start) continue;
      // The two delivery windows' intersection: a b whose short tenure ended long before a's last
      // delivery overlapped only while it lasted.
      const aLast = Math.max(-Infinity, ...a.recs.filter((r) => !zombieBatch(a, r.at)).map((r) => r.at));
      const bFirst = Math.min(Infinity, ...b.recs.map((r) => r.at));
      const bLast = Math.max(-Infinity, ...b.recs.map((r) => r.at));
      const overlap = Math.min(aLast, bLast) - bFirst;
      if (!(overlap > 0)) continue;
      maxOverlapMs = Math.max(maxOverlapMs, overlap);
      if (overlap > window) out.push({ rule: 'exclusive', detail: `${a.shardId} delivered by ${a.w} and ${b.w} at once for ${overlap} ms (window ${window} ms)`, evidence: { aStart: a.start, bStart: b.start, bFirst, aLast } });
    }
  }
  return { violations: out, maxOverlapMs };
}

/**
 * No record waits longer than failover + one taker round + one request deadline (a random hang holds a
 * call that long) + slack, unless a planned fault's excuse window overlaps its wait.
 */
export function checkWaits(input: SoakInput, firstSeen: Map<string, number>): { violations: Violation[]; maxUnexcusedWaitMs: number } {
  const bound = input.failoverMs + input.takerMs + input.requestTimeoutMs + input.slackMs;
  const late: (Put & { waitMs: number })[] = [];
  let maxUnexcusedWaitMs = 0;
  // A record never processed has waited until the end of the log (a stalled shard shows here too).
  const end = input.events.reduce((m, e) => Math.max(m, e.at), 0);
  for (const p of input.puts) {
    const seen = firstSeen.get(p.id) ?? end;
    const waitMs = seen - p.at;
    const excused = input.faults.some((f) => f.at <= seen && f.excuseUntil >= p.at && (!f.shards || f.shards.includes(p.shardId)));
    if (excused) continue;
    maxUnexcusedWaitMs = Math.max(maxUnexcusedWaitMs, waitMs);
    if (waitMs > bound) late.push({ ...p, waitMs });
  }
  if (late.length === 0) return { violations: [], maxUnexcusedWaitMs };
  const byShard: Record<string, number> = {};
  for (const p of late) byShard[p.shardId] = Math.max(byShard[p.shardId] ?? 0, p.waitMs);
  return { violations: [{ rule: 'recordWait', detail: `${late.length} record(s) waited longer than ${bound} ms with no planned fault to explain it (longest wait per shard in evidence)`, evidence: { byShard, sample: sample(late) } }], maxUnexcusedWaitMs };
}

/** Checkpoints never move backwards: per holder, and per shard across holders in acknowledgement order. */
export function checkCheckpoints(all: Tenure[]): Violation[] {
  const out: Violation[] = [];
  for (const t of all)
    for (let i = 1; i < t.cps.length; i++)
      if (rank(t.cps[i]!.seq) < rank(t.cps[i - 1]!.seq)) out.push({ rule: 'checkpointBackwards', detail: `${t.w} on ${t.shardId}: ${t.cps[i]!.seq} after ${t.cps[i - 1]!.seq}`, evidence: { at: t.cps[i]!.at } });
  // Across holders only what was stored counts: a checkpoint at the holder's last value writes nothing (as
  // in the Java KCL), so a holder that lost its lease without knowing yet may still see one succeed.
  const stored = (t: Tenure): { at: number; seq: string; w: string }[] =>
    t.cps.filter((c, i) => c.seq !== (i === 0 ? t.from : t.cps[i - 1]!.seq)).map((c) => ({ ...c, w: t.w }));
  const byShard = new Map<string, { at: number; seq: string; w: string }[]>();
  for (const t of all) byShard.set(t.shardId, [...(byShard.get(t.shardId) ?? []), ...stored(t)]);
  for (const [shardId, cps] of byShard) {
    cps.sort((a, b) => a.at - b.at);
    let max: { at: number; seq: string; w: string } | undefined;
    for (const c of cps) {
      if (max && rank(c.seq) < rank(max.seq)) out.push({ rule: 'checkpointBackwards', detail: `${shardId}: ${c.w} stored ${c.seq} at ${c.at} after ${max.w} stored ${max.seq} at ${max.at}` });
      if (!max || rank(c.seq) >= rank(max.seq)) max = c;
    }
  }
  return collapse(out);
}

/** No crash, no unhandled rejection, no unplanned exit, every worker stops on SIGTERM. */
export function checkHealth(input: SoakInput): Violation[] {
  const out: Violation[] = [];
  for (const e of input.events) {
    if (e.t === 'crash' || e.t === 'fatal') out.push({ rule: 'noCrash', detail: `${e.w} (pid ${e.p}) ${e.t}: ${JSON.stringify(e['kind'] ?? '')} ${JSON.stringify(e['message'] ?? '').slice(0, 300)}`, evidence: { at: e.at } });
    const killed = e.signal === 'SIGKILL' && input.faults.some((f) => f.kind === 'kill9' && f.workers.includes(e.w) && Math.abs(f.at - e.at) < 5000);
    if (e.t === 'processExit' && e.code !== 0 && !killed && !input.stuckOnStop.includes(e.w))
      out.push({ rule: 'noCrash', detail: `${e.w} (pid ${e.p}) exited with code ${String(e.code)} signal ${String(e.signal)}`, evidence: { at: e.at } });
  }
  for (const w of input.stuckOnStop) out.push({ rule: 'stopsOnSigterm', detail: `${w} did not exit after SIGTERM and was killed` });
  return out;
}

/** A shard's end is final: after shardEnded the worker reports no leaseLost for that tenure (the lease was finished, not lost). */
export function checkSpuriousLost(input: SoakInput): Violation[] {
  const out: Violation[] = [];
  const ended = new Map<string, number>();
  for (const e of input.events) {
    const key = `${e.p ?? e.w}/${e.shardId}`;
    if (e.t === 'shardEnded') ended.set(key, e.at);
    else if (e.t === 'acquired' || e.t === 'init') ended.delete(key);
    else if (e.t === 'lost' && ended.has(key)) {
      out.push({ rule: 'spuriousLeaseLost', detail: `${e.w} (pid ${e.p}) reported leaseLost for ${e.shardId} at ${e.at}, after its shardEnded at ${ended.get(key)}` });
      ended.delete(key);
    }
  }
  return collapse(out);
}

/** The final table matches what was processed: open shards at their last record, finished ones at SHARD_END or gone. */
export function checkFinalTable(input: SoakInput, all: Tenure[]): Violation[] {
  const out: Violation[] = [];
  const rows = new Map(input.table.map((r) => [r.leaseKey, r]));
  const known = new Set(input.shards.map((s) => s.shardId));
  for (const row of input.table) if (!known.has(row.leaseKey)) out.push({ rule: 'finalTable', detail: `lease ${row.leaseKey} names no shard of the stream` });
  const byShard = putsByShard(input.puts);
  for (const shard of input.shards) {
    const row = rows.get(shard.shardId);
    if (shard.closed) {
      if (row && row.checkpoint !== 'SHARD_END') out.push({ rule: 'finalTable', detail: `finished shard ${shard.shardId} has checkpoint ${row.checkpoint}, not SHARD_END` });
      continue;
    }
    if (!row) {
      out.push({ rule: 'finalTable', detail: `open shard ${shard.shardId} has no lease` });
      continue;
    }
    const delivered = all.filter((t) => t.shardId === shard.shardId).flatMap((t) => t.recs.flatMap((r) => r.seqs));
    const last = delivered.reduce((m, s) => (BigInt(s) > m ? BigInt(s) : m), -1n);
    const lastPut = byShard.get(shard.shardId)?.at(-1)?.seq ?? -1n;
    if (last >= 0n && row.checkpoint !== String(last)) out.push({ rule: 'finalTable', detail: `open shard ${shard.shardId} checkpointed at ${row.checkpoint}, last processed record ${last}` });
    if (lastPut >= 0n && rank(row.checkpoint) < lastPut) out.push({ rule: 'finalTable', detail: `open shard ${shard.shardId} checkpointed at ${row.checkpoint}, below its last acknowledged record ${lastPut}` });
  }
  return out;
}

/** Many violations of one rule in one place read better as one line with a count. */
function collapse(violations: Violation[], keep = 5): Violation[] {
  const byRule = new Map<string, Violation[]>();
  for (const v of violations) byRule.set(v.rule, [...(byRule.get(v.rule) ?? []), v]);
  return [...byRule.values()].flatMap((list) =>
    list.length <= keep ? list : [...list.slice(0, keep), { rule: list[0]!.rule, detail: `... and ${list.length - keep} more of the same rule` }],
  );
}

export function firstSeenTimes(events: SoakEvent[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const e of events) if (e.t === 'rec') for (const id of e.d ?? []) if (!first.has(id) || first.get(id)! > e.at) first.set(id, e.at);
  return first;
}

/** Every rule, and the figures to print. */
export function checkSoak(input: SoakInput): SoakVerdict {
  const all = tenures(input.events);
  const firstSeen = firstSeenTimes(input.events);
  const duplicates = checkDuplicates(input, all);
  const exclusive = checkExclusive(input, all);
  const waits = checkWaits(input, firstSeen);
  const violations = [
    ...checkAllProcessed(input, firstSeen),
    ...collapse(checkTenureOrder(input, all)),
    ...duplicates.violations,
    ...checkKeyOrder(input, firstSeen),
    ...checkZombies(input, all),
    ...collapse(exclusive.violations),
    ...waits.violations,
    ...checkCheckpoints(all),
    ...checkHealth(input),
    ...checkSpuriousLost(input),
    ...checkFinalTable(input, all),
  ];
  const delivered = input.events.reduce((n, e) => n + (e.t === 'rec' ? (e.d?.length ?? 0) : 0), 0);
  return {
    violations,
    figures: {
      acknowledged: input.puts.length,
      delivered,
      unique: firstSeen.size,
      duplicates: duplicates.duplicates,
      duplicateBound: duplicates.bound,
      tenures: all.length,
      checkpoints: input.events.filter((e) => e.t === 'cp').length,
      checkpointFailures: input.events.filter((e) => e.t === 'cpFail').length,
      maxOverlapMs: exclusive.maxOverlapMs,
      maxUnexcusedWaitMs: waits.maxUnexcusedWaitMs,
      errors: input.events.filter((e) => e.t === 'error').length,
      warnings: input.events.filter((e) => e.t === 'log').length,
    },
  };
}
