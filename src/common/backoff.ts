import type { AbortLike } from './deadline.ts';

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Like sleep, but resolves (never rejects) when aborted: for loops that check the signal themselves. */
export async function pause(ms: number, signal?: AbortLike): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch {
    /* aborted: the caller looks at signal.aborted */
  }
}

/** A signal's abort reason as an Error (what a waiter rejects with). */
export function abortReason(signal: AbortLike): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'aborted');
}

/** Exponential backoff with full jitter: a random delay in [base/2, min(cap, base * 2^attempt)]. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(baseMs / 2 + random() * Math.max(0, ceiling - baseMs / 2));
}

/**
 * True only when `signal` (the caller's own: shutdown, lease loss) has aborted. An error's name says
 * nothing: the SDK names ECONNRESET, EPIPE and socket timeouts `TimeoutError`, and a call's own
 * deadline aborts it too; those are failures to retry, never a reason to stop a loop.
 */
export function isAbortError(_err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** A monotonic clock in milliseconds: lease expiry is never judged by wall clocks. */
export const monotonicNow = (): number => performance.now();

/** Waits until `register`'s callback is called or the signal aborts; leaves no listener behind. */
export function wakeable(register: (wake: () => void) => void, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    register(done);
  });
}

/** Waits for `promise` at most `ms`; true when it settled in time. The timer never outlives the wait. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const, () => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
