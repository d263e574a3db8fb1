// Balance, takeover and handover times of a 3-worker cluster on a 12-shard stream under continuous
// production (the scenario of test/integration/many-workers.test.ts, with worker processes on dist/).
//   node bench/takeover.bench.js [--failover 3000] [--taker 1000] [--java-defaults short|full|off]
// Two clusters, one after the other, each of 3 fresh worker processes on a fresh stream:
//   A (ts-kcl defaults): balance; SIGTERM w2 -> its leases are released in DynamoDB (handover);
//                        then kill -9 w1 (takeover after expiry)
//   B (w2 with lease.releaseLeasesOnShutdown: false, the Java KCL's graceful shutdown, the baseline):
//                        balance; SIGTERM w2 -> its leases are only dropped locally and others wait for
//                        them to expire; then kill -9 w1 (a second takeover sample)
// "Balanced" is 4/4/4, timed from the last worker's start (after its imports); the signal comes
// after a further settling pause. A time is from the signal until every shard the victim held has had a record processed by another
// worker (the later of those first records); "acquired" is until every such lease was taken.
// Then the SIGTERM pair again at the Java KCL's defaults (failover 10000 ms, taker 20050 ms, steal 1):
// `--java-defaults short` (default) signals w2 as soon as it holds a lease (no balance wait, no kill -9;
// ~1 min), `full` runs both whole clusters (~4 min), `off` skips it. kinesalite + dynalite + the
// producer run in their own process. Takes ~1-1.5 min with the defaults.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServerHost, spawnNode, waitFor, sleep, machine, CREDENTIALS, REGION } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    failover: { type: 'string', default: '3000' },
    taker: { type: 'string', default: '1000' },
    'java-defaults': { type: 'string', default: 'short' },
  },
});
const WORKER = fileURLToPath(new URL('./lib/worker.js', import.meta.url));
const SHARDS = 12;

class Cluster {
  events = [];
  children = new Map();
  spawn(config) {
    const child = spawnNode([WORKER, JSON.stringify(config)], {
      onLine: (line) => {
        try {
          this.events.push(JSON.parse(line));
        } catch {
          /* not ours */
        }
      },
    });
    this.children.set(config.workerId, child);
  }
  signal(workerId, signal) {
    this.children.get(workerId).kill(signal);
  }
  exited(workerId) {
    const child = this.children.get(workerId);
    return child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', r));
  }
  holdings() {
    const held = new Map();
    for (const e of this.events) {
      const set = held.get(e.w) ?? new Set();
      held.set(e.w, set);
      if (e.t === 'acquired') set.add(e.shardId);
      else if (e.t === 'exit') set.clear();
      else if (e.t === 'lost' || e.t === 'shutdownRequested') set.delete(e.shardId);
    }
    return held;
  }
  processed() {
    return this.events.filter((e) => e.t === 'rec').flatMap((e) => e.d.map((data) => ({ w: e.w, at: e.at, shardId: e.shardId, data })));
  }
  async stopAll() {
    for (const [id, child] of this.children) if (child.exitCode === null && child.signalCode === null) this.signal(id, 'SIGKILL');
    await Promise.all([...this.children.keys()].map((id) => this.exited(id)));
  }
}

/** Time from `at` until every shard in `shards` has a record processed by a worker other than `victim`. */
function moveTimes(cluster, victim, shards, at) {
  const firstRec = (s) => Math.min(...cluster.processed().filter((p) => p.shardId === s && p.w !== victim && p.at > at).map((p) => p.at));
  const firstAcq = (s) => Math.min(...cluster.events.filter((e) => e.t === 'acquired' && e.shardId === s && e.w !== victim && e.at > at).map((e) => e.at));
  return { processedMs: Math.max(...shards.map(firstRec)) - at, acquiredMs: Math.max(...shards.map(firstAcq)) - at };
}

async function waitMoved(cluster, victim, shards, at, timeoutMs) {
  await waitFor(() => shards.every((s) => cluster.processed().some((p) => p.shardId === s && p.w !== victim && p.at > at)), `${victim}'s shards processed elsewhere`, timeoutMs);
  return moveTimes(cluster, victim, shards, at);
}

/** One cluster: balance, then SIGTERM w2, then kill -9 w1. */
async function scenario(servers, { failover, taker, steal, releaseOnTerm, label, full = true }) {
  const stream = `bench-takeover-${process.pid}-${label}`;
  const app = `bench-takeover-app-${process.pid}-${label}`;
  await servers.call('createStream', { name: stream, shards: SHARDS });
  await servers.call('startProducer', { name: stream, perTick: 24, tickMs: 100 });
  const cluster = new Cluster();
  const config = (workerId) => ({
    workerId,
    applicationName: app,
    streamName: stream,
    clientConfig: { region: REGION, credentials: CREDENTIALS, endpoints: { kinesis: servers.kinesis, dynamodb: servers.dynamodb } },
    initialPosition: 'TRIM_HORIZON',
    retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200 },
    lease: { failoverTimeMs: failover, takerIntervalMs: taker, maxLeasesToStealAtOneTime: steal, shardSyncIntervalMs: 5000, ...(workerId === 'w2' ? { releaseLeasesOnShutdown: releaseOnTerm } : {}) },
    coordinator: { parentShardPollIntervalMs: 500, gracefulShutdownTimeoutMs: 10000 },
  });
  const result = { label };
  const slow = 4 * failover + 4 * taker + 20000;
  try {
    for (const w of ['w1', 'w2', 'w3']) cluster.spawn(config(w));
    await waitFor(() => cluster.events.filter((e) => e.t === 'started').length === 3, 'three workers started', 30000);
    const allStarted = Math.max(...cluster.events.filter((e) => e.t === 'started').map((e) => e.at));
    if (full) {
    await waitFor(() => {
      const counts = [...cluster.holdings().values()].map((s) => s.size);
      return counts.length === 3 && counts.every((c) => c === SHARDS / 3);
    }, 'balanced leases (4/4/4)', slow);
    result.balanceMs = Date.now() - allStarted;
    result.balance = [...cluster.holdings().values()].map((s) => s.size).join('/');
    // Settle: no steal in flight when the signal comes (a steal would add its own redelivery).
    await sleep(Math.min(2 * taker, 5000));
    if ([...cluster.holdings().values()].some((s) => s.size !== SHARDS / 3)) throw new Error(`balance moved: ${[...cluster.holdings().values()].map((s) => s.size)}`);
    }

    // SIGTERM w2: released (ts-kcl) or only dropped locally (Java-style).
    await waitFor(() => cluster.holdings().get('w2')?.size > 0, 'w2 holding shards', slow);
    if (!full) await sleep(1000);
    const moved = [...cluster.holdings().get('w2')];
    const termAt = Date.now();
    cluster.signal('w2', 'SIGTERM');
    result.termExit = await cluster.exited('w2');
    result.graceful = cluster.events.find((e) => e.w === 'w2' && e.t === 'graceful')?.ok;
    result.term = { shards: moved.length, ...(await waitMoved(cluster, 'w2', moved, termAt, slow)) };
    const byW2 = new Set(cluster.processed().filter((p) => p.w === 'w2').map((p) => p.data));
    result.term.redelivered = cluster.processed().filter((p) => p.w !== 'w2' && p.at > termAt && byW2.has(p.data)).length;

    // kill -9 w1: its leases expire for the survivor.
    if (full) {
    await waitFor(() => cluster.holdings().get('w1')?.size > 0, 'w1 holding shards', slow);
    await sleep(500);
    const victim = [...cluster.holdings().get('w1')];
    const killedAt = Date.now();
    cluster.signal('w1', 'SIGKILL');
    await cluster.exited('w1');
    result.kill = { shards: victim.length, ...(await waitMoved(cluster, 'w1', victim, killedAt, slow)) };
    const byW1 = new Set(cluster.processed().filter((p) => p.w === 'w1').map((p) => p.data));
    result.kill.redelivered = cluster.processed().filter((p) => p.w !== 'w1' && p.at > killedAt && byW1.has(p.data)).length;
    }

    // Every record produced so far is processed (by someone) before the cluster is stopped.
    const { produced } = await servers.call('stopProducer');
    await waitFor(() => new Set(cluster.processed().map((p) => p.data)).size >= produced, `all ${produced} produced records processed`, slow);
    result.produced = produced;
    result.processed = cluster.processed().length;
    result.unique = new Set(cluster.processed().map((p) => p.data)).size;
  } finally {
    await servers.call('stopProducer').catch(() => undefined);
    await cluster.stopAll();
  }
  return result;
}

const s = (ms) => `${(ms / 1000).toFixed(2)} s`;

async function pair(servers, failover, taker, steal, tag, full = true) {
  console.log(`\n[${tag}] failoverTimeMs ${failover}, takerIntervalMs ${taker}, maxLeasesToStealAtOneTime ${steal}, idleTimeBetweenReadsMs 200, 3 workers, ${SHARDS} shards${full ? '' : '; SIGTERM w2 as soon as it holds a lease, no balance wait, no kill -9'}`);
  const a = await scenario(servers, { failover, taker, steal, releaseOnTerm: true, label: `${tag}-a`, full });
  const b = await scenario(servers, { failover, taker, steal, releaseOnTerm: false, label: `${tag}-b`, full });
  for (const [name, r] of [['A (ts-kcl: SIGTERM releases leases)', a], ['B (SIGTERM\'d worker with releaseLeasesOnShutdown: false)', b]]) {
    console.log(`  cluster ${name}:`);
    if (full) console.log(`    balanced (${r.balance}) ${s(r.balanceMs)} after the last worker started`);
    console.log(`    SIGTERM w2 (${r.term.shards} shards, exit ${r.termExit}, graceful ${r.graceful}): processed elsewhere after ${s(r.term.processedMs)} (acquired after ${s(r.term.acquiredMs)}), ${r.term.redelivered} records redelivered`);
    if (full) console.log(`    kill -9 w1 (${r.kill.shards} shards): processed elsewhere after ${s(r.kill.processedMs)} (acquired after ${s(r.kill.acquiredMs)}), ${r.kill.redelivered} records redelivered`);
    console.log(`    ${r.produced} records produced, all processed (${r.processed - r.unique} processed twice over the whole run, steals while balancing included)`);
  }
  const line =
    `handover after SIGTERM ${s(a.term.processedMs)} vs ${s(b.term.processedMs)} Java-style graceful shutdown (${(a.term.processedMs / b.term.processedMs).toFixed(2)}x)` +
    (full ? `; takeover after kill -9 ${s(a.kill.processedMs)} / ${s(b.kill.processedMs)}; balance ${s(a.balanceMs)} / ${s(b.balanceMs)}` : '') +
    ` [failover ${failover} ms, taker ${taker} ms]`;
  console.log(`  ${line}`);
  return { a, b, line };
}

console.log(`machine: ${machine()}`);
const servers = await startServerHost();
try {
  const main = await pair(servers, Number(args.failover), Number(args.taker), 2, 'short');
  let java;
  if (args['java-defaults'] !== 'off') java = await pair(servers, 10000, 20050, 1, 'java-defaults', args['java-defaults'] === 'full');
  console.log('');
  if (java) console.log(`takeover (Java defaults): ${java.line}`);
  console.log(`takeover: ${main.line}`);
} finally {
  await servers.stop();
}
