import { KinesisClientLibDependencyException } from '../errors.ts';

/** A call that got no answer in time: retriable, and never mistaken for a shutdown. */
export class RequestTimeoutError extends KinesisClientLibDependencyException {}

/**
 * Runs one AWS call with a deadline and the caller's abort signal (shutdown, lease loss): the call
 * gets a signal that aborts on whichever comes first. A deadline rejects with RequestTimeoutError
 * naming the call, so a half-open connection costs one timeout, never the kernel's ~15 min.
 * Listeners and the timer are gone when the call settles (no AbortSignal.any chains to leak).
 */
export async function withDeadline<T>(what: string, timeoutMs: number, parent: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new RequestTimeoutError(`${what} got no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = (): void => controller.abort(parent!.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  try {
    return await call(controller.signal);
  } catch (err) {
    if (timedOut && !parent?.aborted) throw new RequestTimeoutError(`${what} got no answer within ${timeoutMs} ms`, { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onAbort);
  }
}
