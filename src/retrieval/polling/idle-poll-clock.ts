/**
 * At most this many idle polls share a wakeup: it bounds the GetRecords calls one wakeup starts (the
 * HTTP client keeps up to 50 connections per endpoint). Wakeups of more shards than this may still
 * fall close together.
 */
export const MAX_POLLS_PER_WAKEUP = 16;

/**
 * Lines the idle shards' polls of a worker up on shared wakeups (ts-kcl's; the Java KCL sleeps each
 * shard on its own). Idle shards poll once per idle interval, each on its own phase: 8 of them wake
 * the process 8 times an interval, and at these rates a wakeup (timers, promises, a cold path through
 * the code) costs more than the call it makes. Lined up, the process wakes once and runs that path
 * 8 times while it is warm: 8 idle shards at 200 ms cost about 40 % less CPU.
 *
 * Only shards that have settled into idling wait here (`PollPacer.slack()`); a shard with records keeps its
 * own pace. A wait never ends before its due time and may end up to its slack after it: a poll joins a wakeup
 * already planned within its slack, or moves that wakeup later if every poll on it can afford the
 * delay. Shards starting on random phases meet on the first round (the slack is one interval); once
 * met, each round moves by the few milliseconds between their calls' starts.
 */
export class IdlePollClock {
  private readonly wakeups = new Set<Wakeup>();

  constructor(private readonly maxPerWakeup = MAX_POLLS_PER_WAKEUP) {}

  /** Resolves at `dueAt` (on performance.now()'s clock) or at most `slackMs` later; at once, never rejecting, when `signal` aborts. */
  wait(dueAt: number, slackMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wakeup = this.wakeupFor(dueAt, dueAt + slackMs);
      const woken = (): void => {
        signal.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = (): void => {
        wakeup.remove(woken);
        resolve();
      };
      wakeup.add(woken, dueAt, dueAt + slackMs);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  /** Wakeups planned and not yet fired (for tests and benches). */
  get planned(): number {
    return this.wakeups.size;
  }

  private wakeupFor(dueAt: number, latest: number): Wakeup {
    for (const wakeup of this.wakeups) if (wakeup.size < this.maxPerWakeup && wakeup.fits(dueAt, latest)) return wakeup;
    const wakeup = new Wakeup(() => this.wakeups.delete(wakeup));
    this.wakeups.add(wakeup);
    return wakeup;
  }
}

/** One planned wakeup: fires at the latest due time of its polls, no later than the earliest of their latest times. */
class Wakeup {
  /** Each waiter's due and latest times. */
  private readonly waiters = new Map<() => void, { dueAt: number; latest: number }>();
  private timer: NodeJS.Timeout | undefined;
  private at = -Infinity;
  private latest = Infinity;

  constructor(private readonly done: () => void) {}

  get size(): number {
    return this.waiters.size;
  }

  fits(dueAt: number, latest: number): boolean {
    return Math.max(this.at, dueAt) <= Math.min(this.latest, latest);
  }

  add(waiter: () => void, dueAt: number, latest: number): void {
    this.waiters.set(waiter, { dueAt, latest });
    this.latest = Math.min(this.latest, latest);
    if (dueAt <= this.at) return;
    this.at = dueAt;
    this.arm();
  }

  /** A waiter that left (aborted) no longer holds the others back. */
  remove(waiter: () => void): void {
    this.waiters.delete(waiter);
    if (this.waiters.size === 0) {
      clearTimeout(this.timer);
      this.done();
      return;
    }
    const times = [...this.waiters.values()];
    this.latest = Math.min(...times.map((t) => t.latest));
    const at = Math.max(...times.map((t) => t.dueAt));
    if (at === this.at) return;
    this.at = at;
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    // A millisecond over: Node's timers count from the event loop's cached clock, which can lag.
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.at - performance.now()) + 1);
  }

  private fire(): void {
    if (performance.now() < this.at) return this.arm(); // early after all: never before a poll's due time
    this.done();
    for (const waiter of this.waiters.keys()) waiter();
    this.waiters.clear();
  }
}
