import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../../src/common/logger.ts';
import type { TestEnv } from '../support/env.ts';
import { isLeaseItem } from '../../src/leases/dynamodb/lease-serializer.ts';

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

/** A MultiLangDaemon properties file for the local servers, with short timings for tests. */
export function writeProperties(dir: string, env: TestEnv, fields: Record<string, string>): string {
  const all: Record<string, string> = {
    regionName: 'us-east-1',
    kinesisEndpoint: env.servers.kinesis.endpoint,
    dynamoDBEndpoint: env.servers.dynamodb.endpoint,
    AWSCredentialsProvider: 'EnvironmentVariableCredentialsProvider',
    initialPositionInStream: 'TRIM_HORIZON',
    retrievalMode: 'POLLING',
    idleTimeBetweenReadsInMillis: '200',
    failoverTimeMillis: '10000',
    shardSyncIntervalMillis: '1000',
    parentShardPollIntervalMillis: '200',
    metricsLevel: 'NONE',
    ...fields,
  };
  const path = join(dir, 'app.properties');
  writeFileSync(path, Object.entries(all).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  return path;
}

export interface LeaseRow {
  leaseKey: string;
  leaseOwner?: string;
  checkpoint: string;
}

export async function leaseRows(dynamodb: DynamoDBClient, table: string): Promise<Map<string, LeaseRow>> {
  const out = await dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  const rows = new Map<string, LeaseRow>();
  for (const item of (out.Items ?? []).filter(isLeaseItem)) {
    const leaseKey = item.leaseKey!.S!;
    rows.set(leaseKey, { leaseKey, checkpoint: item.checkpoint!.S!, ...(item.leaseOwner?.S ? { leaseOwner: item.leaseOwner.S } : {}) });
  }
  return rows;
}

/** JSON lines a test processor appended to a file. */
export function readEvents<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

/** Collects log entries (and prints warnings and errors when MULTILANG_TEST_LOG is set). */
export function captureLogger(): Logger & { entries: { level: string; fields: Record<string, unknown>; msg: string }[] } {
  const entries: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (a: object | string, b?: string): void => {
      const entry = typeof a === 'string' ? { level, fields: {}, msg: a } : { level, fields: a as Record<string, unknown>, msg: b ?? '' };
      entries.push(entry);
      if (process.env.MULTILANG_TEST_LOG && level !== 'debug') process.stderr.write(`${level} ${entry.msg} ${JSON.stringify(entry.fields)}\n`);
    };
  const logger = { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { ...logger, child: (bindings: Record<string, unknown>) => bound(logger, bindings) };
}

function bound(base: { debug: Logger['debug']; info: Logger['info']; warn: Logger['warn']; error: Logger['error'] }, bindings: Record<string, unknown>): Logger {
  const wrap =
    (fn: Logger['warn']) =>
    (a: object | string, b?: string): void =>
      typeof a === 'string' ? fn({ ...bindings }, a) : fn({ ...bindings, ...a }, b);
  return { debug: wrap(base.debug), info: wrap(base.info), warn: wrap(base.warn), error: wrap(base.error), child: (more) => bound(base, { ...bindings, ...more }) };
}
