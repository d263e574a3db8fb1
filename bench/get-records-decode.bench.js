// The GetRecords answer decoder (src/retrieval/polling/get-records-decoder.ts) against what it replaced,
// JSON.parse of the answer's text with each record's Data base64-decoded, on the same answer bytes:
//   node bench/get-records-decode.bench.js [--rounds 15]        (~30 s; needs `npm run build`)
// Both decoders alternate in this process on each page shape: CPU per page, medians of the rounds. What
// the decoder saves in memory shows in a worker's peak RSS, not here: bench/go-kcl.bench.js with
// KCL_DIST=<a build without it> side by side (BENCHMARKS.md, section 6, "Stop 14").
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import path from 'node:path';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const dist = process.env.KCL_DIST ? path.resolve(process.env.KCL_DIST) : fileURLToPath(new URL('../dist', import.meta.url));
const { decodeGetRecords } = await import(pathToFileURL(path.join(dist, 'retrieval/polling/get-records-decoder.js')).href);

const SHAPES = { '5,000 x 200 B': [5000, 200], '10,000 x 1 KiB': [10000, 1024], '100 x 25 KiB': [100, 25 * 1024] };

/** An answer as Kinesis writes it: compact JSON, base64 Data, 56-digit sequence numbers. */
function answer([count, bytes]) {
  const Records = Array.from({ length: count }, (_, i) => ({
    SequenceNumber: `4959${String(i).padStart(52, '0')}`,
    ApproximateArrivalTimestamp: 1764680000.123 + i / 1000,
    Data: randomBytes(bytes).toString('base64'),
    PartitionKey: `partition-key-${i % 1000}`,
  }));
  return Buffer.from(JSON.stringify({ Records, NextShardIterator: 'AAAAAAAAAAF'.repeat(25), MillisBehindLatest: 0 }));
}

/** What the lean path did before: the text, JSON.parse, a base64 string per record decoded to bytes. */
function viaJsonParse(body) {
  const wire = JSON.parse(body.toString('utf8'));
  const Records = wire.Records.map((r) => {
    const bytes = Buffer.from(r.Data ?? '', 'base64');
    return { SequenceNumber: r.SequenceNumber, PartitionKey: r.PartitionKey, Data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), ApproximateArrivalTimestamp: new Date(Math.round(r.ApproximateArrivalTimestamp * 1000)) };
  });
  return { Records, NextShardIterator: wire.NextShardIterator, MillisBehindLatest: wire.MillisBehindLatest };
}
const DECODERS = { 'JSON.parse': viaJsonParse, decoder: (body) => decodeGetRecords(body, {}) };

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const rounds = Number(args.rounds);
console.log('| page | JSON.parse ms/page | decoder ms/page | decoder/JSON.parse |');
console.log('| --- | --- | --- | --- |');
const ratios = [];
for (const [shape, dims] of Object.entries(SHAPES)) {
  const body = answer(dims);
  const times = { 'JSON.parse': [], decoder: [] };
  for (const decode of Object.values(DECODERS)) for (let i = 0; i < 5; i++) decode(body); // warm-up
  const perRound = Math.max(2, Math.round(4e7 / body.length));
  for (let round = 0; round < rounds; round++) {
    for (const [name, decode] of Object.entries(DECODERS)) {
      const start = process.cpuUsage();
      for (let i = 0; i < perRound; i++) decode(body);
      const used = process.cpuUsage(start);
      times[name].push((used.user + used.system) / 1000 / perRound);
    }
  }
  const [a, b] = [median(times['JSON.parse']), median(times.decoder)];
  ratios.push(b / a);
  console.log(`| ${shape} (${(body.length / 1048576).toFixed(1)} MiB) | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(2)} |`);
}
console.log(`\nget-records-decode: decoder/JSON.parse CPU ${ratios.map((r) => r.toFixed(2)).join(', ')} (medians of ${rounds} rounds, alternating)`);
