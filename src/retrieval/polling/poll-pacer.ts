/** Kinesis allows 5 GetRecords a second per shard: never closer than this. */
export const MIN_POLL_SPACING_MS = 200;

/**
 * When a shard's next GetRecords may start (measured from the start of the last one): at once (the
 * 200 ms floor) after a page with records or a page that says the shard is behind, and after empty
 * pages at the tip a spacing that doubles up to `idleTimeBetweenReadsMs`. A busy shard drains at the
 * read limit; an idle one costs one call per idle interval, as before.
 */
export class PollPacer {
  private spacingMs = 0;
  private idle = false;

  constructor(private readonly idleTimeBetweenReadsMs: number) {}

  /** Milliseconds between the start of the last call and the start of the next. */
  spacing(): number {
    return this.spacingMs;
  }

  /** True once empty pages at the tip have backed the spacing off to the idle interval. */
  isIdle(): boolean {
    return this.idle;
  }

  /** After a page: `records` returned, `millisBehindLatest` as Kinesis reported it. */
  afterPage(records: number, millisBehindLatest: number): void {
    const idle = this.idleTimeBetweenReadsMs;
    if (records > 0 || millisBehindLatest >= idle) this.spacingMs = MIN_POLL_SPACING_MS;
    else this.spacingMs = Math.min(idle, Math.max(MIN_POLL_SPACING_MS, this.spacingMs * 2));
    this.idle = records === 0 && millisBehindLatest < idle && this.spacingMs === idle;
  }
}
