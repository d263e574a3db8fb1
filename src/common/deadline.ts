import { KinesisClientLibDependencyException } from '../errors.ts';

/** A call that got no answer in time: retriable, and never mistaken for a shutdown. */
export class RequestTimeoutError extends KinesisClientLibDependencyException {}

/**
 * Runs one AWS call with a deadline and the caller's abort signal (shutdown, lease loss): the call
 * gets a signal that aborts on whichever comes first. A deadline rejects with RequestTimeoutError
 * naming the call, so a half-open connection costs one timeout, never the kernel's ~15 min.
 * Listeners and the timer are gone when the call settles (no AbortSignal.any chains to leak).
 */
export function withDeadline<T>(what: string, timeoutMs: number, parent: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return underDeadline(new AbortController(), what, timeoutMs, parent, call);
}

/** What a call watches for its end: an AbortSignal, or the cheaper CallSignal of withLeanDeadline. */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * withDeadline for the lean paths, whose own code is all that sees the signal: the same contract, with
 * a plain CallSignal in place of an AbortController. An AbortController is an EventTarget, ~10 µs per
 * call with its listeners: the largest part of a deadline's cost at 40 idle polls a second.
 */
export function withLeanDeadline<T>(what: string, timeoutMs: number, parent: AbortSignal | undefined, call: (signal: AbortLike) => Promise<T>): Promise<T> {
  const signal = new CallSignal();
  return underDeadline({ signal, abort: (reason) => signal.abort(reason) }, what, timeoutMs, parent, call);
}

/** The deadline and the parent's abort, feeding one controller: an AbortController, or a CallSignal's. */
async function underDeadline<S, T>(controller: { signal: S; abort(reason: unknown): void }, what: string, timeoutMs: number, parent: AbortSignal | undefined, call: (signal: S) => Promise<T>): Promise<T> {
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

/** One call's abort: aborted once, its listeners called once, in order. */
class CallSignal implements AbortLike {
  aborted = false;
  reason: unknown;
  private listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners!.splice(at, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners ?? [];
    this.listeners = undefined;
    for (const listener of listeners) listener();
  }
}
