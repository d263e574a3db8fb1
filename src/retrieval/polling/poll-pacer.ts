/** Kinesis allows 5 GetRecords a second per shard: never closer than this. */
export const MIN_POLL_SPACING_MS = 200;

/** Empty pages at the tip in a row before a shard's polls may wait to share a wakeup (see `slack()`). */
export const SETTLE_PAGES = 3;

/**
 * When a shard's next GetRecords may start (measured from the start of the last one): at once (the
 * 200 ms floor) after a page with records or a page that says the shard is behind, and after empty
 * pages at the tip a spacing that doubles up to `idleTimeBetweenReadsMs`. A busy shard drains at the
 * read limit; an idle one costs one call per idle interval, as before.
 */
export class PollPacer {
  private spacingMs = 0;
  private quietPages = 0;

  constructor(private readonly idleTimeBetweenReadsMs: number) {}

  /** Milliseconds between the start of the last call and the start of the next. */
  spacing(): number {
    return this.spacingMs;
  }

  /**
   * How much later than `spacing()` the next call may start, to share a wakeup with other idle shards:
   * one idle interval once the shard has polled at that interval and has had `SETTLE_PAGES` empty pages in
   * a row, else none. A shard whose records come in bursts with gaps keeps its own pace and latency.
   */
  slack(): number {
    const idle = this.idleTimeBetweenReadsMs;
    return this.spacingMs === idle && this.quietPages >= SETTLE_PAGES ? idle : 0;
  }

  /** After a page: `records` returned, `millisBehindLatest` as Kinesis reported it. */
  afterPage(records: number, millisBehindLatest: number): void {
    const idle = this.idleTimeBetweenReadsMs;
    if (records > 0 || millisBehindLatest >= idle) {
      this.spacingMs = MIN_POLL_SPACING_MS;
      this.quietPages = 0;
    } else {
      this.spacingMs = Math.min(idle, Math.max(MIN_POLL_SPACING_MS, this.spacingMs * 2));
      this.quietPages++;
    }
  }
}
