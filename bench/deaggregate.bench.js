// Throughput of deaggregate() against aws-kinesis-agg's deaggregateSync (checksums on), on the
// same KPL aggregates, run alternately in one process. `node bench/deaggregate.bench.js`;
// KCL_DIST points at a build of src (default ../dist, i.e. `npm run build`). Takes ~10 s.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const AGGREGATES = 2000;
const RECORDS_PER_AGGREGATE = 100;
const RECORD_BYTES = 100;
const ROUNDS = 15;
const HALF = (1n << 127n) - 1n; // a two-shard stream: this shard owns [0, 2^127 - 1]

// KCL_DIST is taken relative to the working directory; the default is relative to this file.
const dist = process.env.KCL_DIST ? path.resolve(process.env.KCL_DIST) : fileURLToPath(new URL('../dist', import.meta.url));
const { aggregate, deaggregate } = await import(pathToFileURL(path.join(dist, 'retrieval/aggregation/index.js')).href);
const awsAgg = createRequire(import.meta.url)('aws-kinesis-agg');

/** Distinct partition keys whose MD5 falls in the shard [0, HALF], as a shard-aware producer's would. */
function* shardKeys() {
  for (let n = 0; ; n++) {
    const key = `user-${n}`;
    if (createHash('md5').update(key).digest()[0] < 0x80) yield key;
  }
}

function buildInput() {
  const keys = shardKeys();
  const ours = [];
  const theirs = [];
  let seed = 1;
  for (let a = 0; a < AGGREGATES; a++) {
    const records = [];
    for (let i = 0; i < RECORDS_PER_AGGREGATE; i++) {
      const data = new Uint8Array(RECORD_BYTES);
      for (let b = 0; b < RECORD_BYTES; b++) data[b] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      records.push({ partitionKey: keys.next().value, data });
    }
    const [packed, extra] = aggregate(records);
    if (extra !== undefined) throw new Error('expected one aggregate per 100 records');
    const sequenceNumber = String(49590338271490256608559692538361571095921575989136588898n + BigInt(a));
    ours.push({ data: packed.data, partitionKey: packed.partitionKey, sequenceNumber, approximateArrivalTimestamp: new Date() });
    // aws-kinesis-agg's Lambda-event shape, its fastest input (a Buffer `Data` is slower); encoded once, untimed.
    theirs.push({ data: Buffer.from(packed.data).toString('base64'), partitionKey: packed.partitionKey, sequenceNumber });
    verify(ours[a], theirs[a], records);
  }
  return { ours, theirs };
}

function verify(ourInput, theirInput, records) {
  const mine = deaggregate(ourInput, { startingHashKey: '0', endingHashKey: HALF.toString() });
  let theirs;
  awsAgg.deaggregateSync(theirInput, true, (error, userRecords) => {
    if (error) throw error;
    theirs = userRecords;
  });
  const expected = records.map((r) => `${r.partitionKey}:${Buffer.from(r.data).toString('base64')}`);
  const got = [mine.map((r) => `${r.partitionKey}:${Buffer.from(r.data).toString('base64')}`), theirs.map((r) => `${r.partitionKey}:${r.data}`)];
  for (const list of got) if (list.join() !== expected.join()) throw new Error('an implementation decoded the input differently');
}

const runners = {
  ours: ({ ours }) => {
    let n = 0;
    for (const record of ours) n += deaggregate(record).length;
    return n;
  },
  filtered: ({ ours }) => {
    const range = { startingHashKey: '0', endingHashKey: HALF.toString() };
    let n = 0;
    for (const record of ours) n += deaggregate(record, range).length;
    return n;
  },
  aws: ({ theirs }) => {
    let n = 0;
    const count = (error, userRecords) => {
      if (error) throw error;
      n += userRecords.length;
    };
    for (const record of theirs) awsAgg.deaggregateSync(record, true, count);
    return n;
  },
  // The checksum alone: a floor on the cost of any deaggregator that validates it.
  md5: ({ ours }) => {
    for (const { data } of ours) createHash('md5').update(data.subarray(4, data.length - 16)).digest();
    return ours.length * RECORDS_PER_AGGREGATE;
  },
};

function measure(run, input) {
  const start = process.hrtime.bigint();
  const records = run(input);
  return records / (Number(process.hrtime.bigint() - start) / 1e9);
}

const median = (values) => values.sort((a, b) => a - b)[values.length >> 1];
const mps = (rate) => `${(rate / 1e6).toFixed(2)} M records/s`;

const input = buildInput();
const rates = Object.fromEntries(Object.keys(runners).map((name) => [name, []]));
for (const run of Object.values(runners)) run(input); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(runners)) rates[name].push(measure(run, input));
}
const ours = median(rates.ours);
const filtered = median(rates.filtered);
const aws = median(rates.aws);
const md5 = median(rates.md5);
const aggregateBytes = input.ours[0].data.length;

console.log(`input: ${AGGREGATES} aggregates x ${RECORDS_PER_AGGREGATE} user records x ${RECORD_BYTES} bytes (${aggregateBytes} bytes each), median of ${ROUNDS} alternating rounds, node ${process.version}`);
console.log(`ours deaggregate():                    ${mps(ours)}  (${(ours / aws).toFixed(2)}x)`);
console.log(`aws-kinesis-agg deaggregateSync(true): ${mps(aws)}`);
console.log(`ours with hash-range filter:           ${mps(filtered)}  (${(filtered / aws).toFixed(2)}x)`);
console.log(`MD5 checksum alone (ceiling):          ${mps(md5)}  (${(md5 / aws).toFixed(2)}x)`);
console.log(`deaggregate: ${(ours / aws).toFixed(1)}x aws-kinesis-agg (${mps(ours)} vs ${mps(aws)})`);
