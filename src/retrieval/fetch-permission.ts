import { errorFields, type Logger } from '../common/logger.ts';
import type { PublisherHooks } from './records-publisher.ts';

/**
 * Whether a publisher must stop calling Kinesis: the owner's `mayFetch` said no (its lease expired
 * locally; retrieval knows nothing of leases). A no aborts `abort` for good, once, quietly; a predicate
 * that throws is a bug there and counts as no.
 */
export function fetchForbidden(hooks: PublisherHooks, abort: AbortController, logger: Logger): boolean {
  let allowed: boolean;
  try {
    allowed = hooks.mayFetch?.() ?? true;
  } catch (err) {
    logger.error(errorFields(err), 'mayFetch() threw; retrieval stops');
    allowed = false;
  }
  if (allowed) return false;
  if (!abort.signal.aborted) {
    logger.info({}, 'Fetching is no longer allowed; retrieval stops');
    abort.abort(new Error('fetching is no longer allowed'));
  }
  return true;
}
