import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/metrics/metrics.ts';
import type { MetricDatum } from '../../src/metrics/metrics-sink.ts';
import { isLevelEnabled } from '../../src/metrics/metrics-level.ts';

const logger = (warnings: string[]) => ({ debug: () => {}, info: () => {}, error: () => {}, warn: (_o: object | string, m?: string) => void warnings.push(m ?? '') });

describe('Metrics buffer', () => {
  it('levels: SUMMARY metrics under SUMMARY and DETAILED; DETAILED only under DETAILED; nothing under NONE', () => {
    assert.deepEqual(
      (['NONE', 'SUMMARY', 'DETAILED'] as const).map((l) => [isLevelEnabled(l, 'SUMMARY'), isLevelEnabled(l, 'DETAILED')]),
      [[false, false], [true, false], [true, true]],
    );
  });

  it('merges observations into StatisticSets per name and dimensions', async () => {
    const published: MetricDatum[] = [];
    const m = new Metrics('DETAILED', [{ publish: (d) => void published.push(...d) }], logger([]), 60000);
    for (const v of [3, 1, 5]) m.scope('ProcessTask', { ShardId: 's-1' }).add('RecordsProcessed', v, 'Count', 'SUMMARY').end();
    m.scope('ProcessTask', { ShardId: 's-2' }).add('RecordsProcessed', 7, 'Count', 'SUMMARY').end();
    await m.flush();
    const s1 = published.find((d) => d.dimensions.ShardId === 's-1')!;
    assert.deepEqual([s1.sum, s1.min, s1.max, s1.count], [9, 1, 5, 3]);
    assert.deepEqual(s1.dimensions, { Operation: 'ProcessTask', ShardId: 's-1' });
    assert.equal(published.length, 2);
  });

  it('drops with one warning instead of growing past its bound, and never blocks the caller', async () => {
    const warnings: string[] = [];
    let release!: () => void;
    const published: MetricDatum[][] = [];
    const slow = { publish: (d: MetricDatum[]) => new Promise<void>((r) => ((release = r), published.push(d))) };
    const m = new Metrics('DETAILED', [slow], logger(warnings), 60000, 50);
    for (let i = 0; i < 120; i++) m.scope('ProcessTask', { ShardId: `s-${i}` }).add('RecordsProcessed', 1, 'Count').end();
    assert.equal(warnings.filter((w) => w.includes('buffer full')).length, 1);
    const flushed = m.flush(); // hands the batch over; the sink is still busy
    release();
    await flushed;
    assert.equal(published[0]!.length, 50);
  });

  it('a sink that throws is logged, not thrown into the caller', async () => {
    const warnings: string[] = [];
    const m = new Metrics('DETAILED', [{ record: () => { throw new Error('otel broke'); }, publish: () => { throw new Error('cw broke'); } }], logger(warnings), 60000);
    assert.doesNotThrow(() => m.scope('X').add('Y', 1, 'Count').end());
    await m.flush();
    assert.equal(warnings.length, 2);
  });
});
