import { pause } from './backoff.ts';

/**
 * Runs `task` until the signal aborts. Fixed rate: each run starts `intervalMs` after the previous
 * start (or at once when a run took longer). `wake()` starts the next run now. Errors go to `onError`.
 */
export class Periodic {
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private readonly controller = new AbortController();
  readonly done: Promise<void>;

  constructor(
    task: () => Promise<void>,
    intervalMs: number,
    parent: AbortSignal,
    onError: (err: unknown) => void,
    options: { initialDelayMs?: number } = {},
  ) {
    const signal = AbortSignal.any([parent, this.controller.signal]);
    this.done = this.loop(task, intervalMs, signal, onError, options.initialDelayMs ?? 0);
  }

  /** Stops after the run in progress, if any; `done` resolves then. */
  stop(): Promise<void> {
    this.controller.abort();
    this.wakeUp?.();
    return this.done;
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async loop(task: () => Promise<void>, intervalMs: number, signal: AbortSignal, onError: (err: unknown) => void, initialDelayMs: number): Promise<void> {
    await this.wait(initialDelayMs, signal);
    while (!signal.aborted) {
      const start = performance.now();
      this.woken = false;
      try {
        await task();
      } catch (err) {
        if (!signal.aborted) onError(err);
      }
      await this.wait(intervalMs - (performance.now() - start), signal);
    }
  }

  private async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0 || this.woken || signal.aborted) return;
    const woken = new Promise<void>((resolve) => (this.wakeUp = resolve));
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    await Promise.race([pause(ms, controller.signal), woken]);
    controller.abort();
    signal.removeEventListener('abort', onAbort);
    this.wakeUp = undefined;
  }
}
