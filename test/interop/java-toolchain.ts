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
