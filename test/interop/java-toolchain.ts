// The Java KCL interop tests' set-up: the built worker, or the reason there is none (a skip locally,
// a failure in CI, where CI or TS_KCL_REQUIRE_JAVA is set).
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { buildJavaWorker, missingToolchain, type JavaWorkerBuild, type KclVersion } from './java-build.ts';

const REQUIRED = Boolean(process.env.CI || process.env.TS_KCL_REQUIRE_JAVA);

/** The built worker, or the reason there is none. */
export async function javaOrSkip(version: KclVersion): Promise<JavaWorkerBuild | string> {
  const missing = missingToolchain();
  if (missing) return `Java KCL ${version} interop tests skipped: ${missing}`;
  return buildJavaWorker(version);
}

export function skipOrFail(t: TestContext, build: JavaWorkerBuild | string | undefined): build is JavaWorkerBuild {
  if (typeof build === 'object') return true;
  const reason = build ?? 'the Java worker was not built';
  if (REQUIRED) assert.fail(`${reason} (required here: CI or TS_KCL_REQUIRE_JAVA is set)`);
  t.skip(reason);
  return false;
}

/**
 * ERROR lines of the Java KCL that are its own and not about ts-kcl's items: 3.x in 2.x-compatible mode logs
 * "LeaderDecider uninitialized" from its run loop for a moment at start-up and when it changes client version (awslabs/amazon-kinesis-client#1470).
 */
export const knownJavaError = (e: Record<string, unknown>): boolean => Array.isArray(e.trace) && e.trace.some((l) => String(l).includes('IllegalStateException: LeaderDecider uninitialized'));
