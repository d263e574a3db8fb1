// The same MultiLang record processor (aws-kcl, npm) under the Java MultiLangDaemon and under
// `ts-kcl multilang`, on the same work: SHARDS shards, RECORDS records put before start (TRIM_HORIZON).
// Prints, side by side: CPU of the whole process tree until drained, peak summed RSS, process count,
// time to drain (every shard's checkpoint at its last record).
//   npm run build && node --import tsx bench/multilang.bench.ts [--shards 8] [--records 40000]
// Needs Java + Maven + npm (installs into test/multilang/.cache like the tests). Linux (/proc). ~2-3 min.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, credentials, region, type TestEnv, type PutResult } from '../test/support/env.ts';
import { awsKcl, javaDaemon } from '../test/multilang/toolchains.ts';
import { tempDir, writeProperties, leaseRows } from '../test/multilang/harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'dist/cli/main.js');
const PROCESSOR = join(ROOT, 'test/multilang/aws-kcl-processor.cjs');
const { values } = parseArgs({ options: { shards: { type: 'string', default: '8' }, records: { type: 'string', default: '40000' } } });
const SHARDS = Number(values.shards);
const RECORDS = Number(values.records);
const TICK = 100; // USER_HZ on Linux
const PAGE = 4096;

interface Sample {
  cpuTicks: number;
  rssBytes: number;
  processes: number;
}

/** The process tree under `root`: CPU (live processes + what reaped children left in the root's cutime/cstime), RSS, count. */
function sampleTree(root: number): Sample {
  const stats = new Map<number, { ppid: number; ticks: number; childTicks: number; rss: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), childTicks: Number(f[13]) + Number(f[14]), rss: Number(f[21]) * PAGE });
    } catch {
      // gone meanwhile
    }
  }
  const inTree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, s] of stats) {
      if (inTree.has(pid) || !inTree.has(s.ppid)) continue;
      inTree.add(pid);
      grew = true;
    }
  }
  let cpuTicks = stats.get(root)?.childTicks ?? 0;
  let rssBytes = 0;
  for (const pid of inTree) {
    const s = stats.get(pid);
    if (!s) continue;
    cpuTicks += s.ticks;
    rssBytes += s.rss;
  }
  return { cpuTicks, rssBytes, processes: [...inTree].filter((p) => stats.has(p)).length };
}

async function drained(env: TestEnv, app: string, last: Map<string, string>): Promise<boolean> {
  try {
    const rows = await leaseRows(env.dynamodb, app);
    return [...last].every(([shardId, seq]) => rows.get(shardId)?.checkpoint === seq);
  } catch {
    return false; // the table may not exist yet
  }
}

async function measure(name: string, env: TestEnv, start: (properties: string, dir: string) => ChildProcess, stream: string, puts: PutResult[]) {
  const app = uniqueName(`bench-${name}`);
  const dir = tempDir(`ml-bench-${name}-`);
  const properties = writeProperties(dir, env, { executableName: `${process.execPath} ${PROCESSOR}`, applicationName: app, streamName: stream });
  const last = new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));
  const started = performance.now();
  const child = start(properties, dir);
  let peakRss = 0;
  let peakProcesses = 0;
  let sample: Sample = { cpuTicks: 0, rssBytes: 0, processes: 0 };
  for (;;) {
    sample = sampleTree(child.pid!);
    peakRss = Math.max(peakRss, sample.rssBytes);
    peakProcesses = Math.max(peakProcesses, sample.processes);
    if (await drained(env, app, last)) break;
    if (performance.now() - started > 300000) throw new Error(`${name} did not drain within 5 minutes`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const drainS = (performance.now() - started) / 1000;
  sample = sampleTree(child.pid!);
  child.kill('SIGKILL');
  return { name, drainS, cpuS: sample.cpuTicks / TICK, peakRssMB: Math.max(peakRss, sample.rssBytes) / 1e6, processes: Math.max(peakProcesses, sample.processes) };
}

const node = awsKcl();
const java = javaDaemon();
if (!node.ok || !java.ok) throw new Error(`missing toolchain: ${!node.ok ? node.reason : !java.ok ? java.reason : ''}`);
if (!existsSync(BIN)) throw new Error('run `npm run build` first: the bench runs the built ts-kcl bin');
const env = await startEnv('kinesis-local');
try {
  const childEnv = { ...process.env, AWS_REGION: region, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, NODE_PATH: join(node.value, 'node_modules'), EVENTS_FILE: '/dev/null', QUIET: '1' };
  const stream = uniqueName('ml-bench');
  await createStream(env.kinesis, stream, SHARDS);
  const puts = await putRecords(env.kinesis, stream, makeRecords(RECORDS, 'bench-record-with-some-payload', 256));
  const results = [
    await measure('java-daemon', env, (properties, cwd) =>
      spawn('java', ['-cp', `${java.value}/*`, 'software.amazon.kinesis.multilang.MultiLangDaemon', '--properties-file', properties], { cwd, env: { ...childEnv, JAVA_TOOL_OPTIONS: '-Daws.cborEnabled=false' }, stdio: 'ignore' }),
    stream, puts),
    await measure('ts-kcl-multilang', env, (properties, cwd) =>
      spawn(process.execPath, [BIN, 'multilang', '--properties', properties, '--log-level', 'warn'], { cwd, env: childEnv, stdio: 'ignore' }),
    stream, puts),
  ];
  console.log(`multilang: ${SHARDS} shards, ${RECORDS} records, the same aws-kcl processor; each daemon from a fresh lease table`);
  console.log('daemon             drain s   CPU s (tree)   peak RSS MB (sum)   processes');
  for (const r of results) console.log(`${r.name.padEnd(18)} ${r.drainS.toFixed(1).padStart(7)}   ${r.cpuS.toFixed(2).padStart(12)}   ${r.peakRssMB.toFixed(0).padStart(17)}   ${String(r.processes).padStart(9)}`);
  const [j, t] = results as [(typeof results)[0], (typeof results)[0]];
  console.log(`multilang: ts-kcl/java CPU ${(t.cpuS / j.cpuS).toFixed(2)}x, RSS ${(t.peakRssMB / j.peakRssMB).toFixed(2)}x, drain ${(t.drainS / j.drainS).toFixed(2)}x`);
} finally {
  await env.close();
}
