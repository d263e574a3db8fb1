import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, waitFor, type TestEnv } from '../support/env.ts';
import { Cluster } from '../support/cluster.ts';
import { startProducer } from '../support/producer.ts';

const FAILOVER = 2000;
const TAKER = 1000;


describe('three worker processes share a 12-shard stream under continuous production', () => {
  let env: TestEnv;
  const cluster = new Cluster();
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => {
    await cluster.stopAll();
    await env?.close();
  });

  it('balances, survives kill -9, hands over on SIGTERM with zero redelivery, and processes every record', async (t) => {
    const stream = uniqueName('many');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 12);
    const producer = startProducer(env, stream);
    const config = (workerId: string) => ({
      workerId,
      applicationName: app,
      streamName: stream,
      clientConfig: env.clientConfig,
      initialPosition: 'TRIM_HORIZON' as const,
      retrieval: { mode: 'polling' as const, idleTimeBetweenReadsMs: 200 },
      lease: { failoverTimeMs: FAILOVER, takerIntervalMs: TAKER, maxLeasesToStealAtOneTime: 2, shardSyncIntervalMs: 5000 },
      coordinator: { parentShardPollIntervalMs: 500, gracefulShutdownTimeoutMs: 10000 },
    });
    for (const w of ['w1', 'w2', 'w3']) cluster.spawn(config(w));
    await waitFor(() => cluster.events.filter((e) => e.t === 'started').length === 3, 'three workers started', 30000);
    const allStarted = Math.max(...cluster.events.filter((e) => e.t === 'started').map((e) => e.at));

    // 1. Balance: 4/4/4 (plus or minus 1).
    await waitFor(() => {
      const counts = [...cluster.holdings().values()].map((s) => s.size);
      return counts.length === 3 && counts.reduce((a, b) => a + b, 0) === 12 && counts.every((c) => c >= 3 && c <= 5);
    }, 'balanced leases', 30000);
    const balanceMs = Date.now() - allStarted;
    t.diagnostic(`balanced in ${balanceMs} ms (failover ${FAILOVER} ms, taker ${TAKER} ms)`);
    assert.ok(balanceMs <= 2 * FAILOVER + TAKER + 2000, `balanced within about two failover times (took ${balanceMs} ms)`);

    // 2. kill -9: the others take its shards within failover time plus one taker round.
    const victimShards = [...cluster.holdings().get('w1')!];
    const killedAt = Date.now();
    cluster.kill('w1', 'SIGKILL');
    await cluster.exited('w1');
    await waitFor(
      () => victimShards.every((s) => cluster.processed().some((p) => p.shardId === s && p.w !== 'w1' && p.at > killedAt)),
      "the killed worker's shards processed elsewhere",
      30000,
    );
    const takeoverMs = Math.max(...victimShards.map((s) => Math.min(...cluster.processed().filter((p) => p.shardId === s && p.w !== 'w1' && p.at > killedAt).map((p) => p.at)))) - killedAt;
    t.diagnostic(`takeover after kill -9 in ${takeoverMs} ms`);
    assert.ok(takeoverMs <= FAILOVER + 2 * TAKER + 3000, `takeover within failover time plus a taker round (took ${takeoverMs} ms)`);

    // 3. SIGTERM: shards move with zero redelivery.
    await waitFor(() => (cluster.holdings().get('w2')?.size ?? 0) > 0, 'w2 holding shards', 20000);
    const movedShards = [...cluster.holdings().get('w2')!];
    const termAt = Date.now();
    cluster.kill('w2', 'SIGTERM');
    assert.equal(await cluster.exited('w2'), 0, 'w2 exits cleanly');
    const graceful = cluster.events.find((e) => e.w === 'w2' && e.t === 'graceful');
    assert.equal(graceful?.ok, true, 'every processor finished shutdownRequested');
    await waitFor(
      () => movedShards.every((s) => cluster.processed().some((p) => p.shardId === s && p.w === 'w3' && p.at > termAt)),
      "w2's shards processed by w3",
      30000,
    );
    const handoverMs = Math.max(...movedShards.map((s) => Math.min(...cluster.processed().filter((p) => p.shardId === s && p.w === 'w3' && p.at > termAt).map((p) => p.at)))) - termAt;
    t.diagnostic(`handover after SIGTERM in ${handoverMs} ms`);
    const byW2 = new Set(cluster.processed().filter((p) => p.w === 'w2').map((p) => p.data));
    const redelivered = cluster.processed().filter((p) => p.w === 'w3' && p.at > termAt && byW2.has(p.data));
    assert.deepEqual(redelivered, [], 'nothing w2 processed was delivered again after its graceful shutdown');
    assert.ok(handoverMs < FAILOVER + TAKER, `released leases are taken before they could have expired (took ${handoverMs} ms)`);

    // 4. Every produced record was processed at least once.
    const total = await producer.stop();
    await waitFor(() => {
      const seen = new Set(cluster.processed().map((p) => p.data));
      return [...producer.produced].every((d) => seen.has(d));
    }, `all ${total} produced records processed`, 60000);
    cluster.kill('w3', 'SIGTERM');
    assert.equal(await cluster.exited('w3'), 0);
    const processed = cluster.processed();
    t.diagnostic(`produced ${total}, processed ${processed.length} (${processed.length - new Set(processed.map((p) => p.data)).size} redelivered after kill -9/steals)`);
  });
});
