import type { RecordProcessorCheckpointer } from '../checkpoint/checkpointer.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import type {
  InitializationInput,
  ProcessRecordsInput,
  ShardEndedInput,
  ShardRecordProcessor,
  ShutdownRequestedInput,
} from '../processor/shard-record-processor.ts';
import { SHARD_END } from '../retrieval/extended-sequence-number.ts';
import { ChildChannel, ChildProcessGone } from './child-process.ts';
import {
  bareMessage,
  checkpointResultMessage,
  initializeMessage,
  javaErrorName,
  parseChildLine,
  processRecordsMessage,
  type CheckpointRequest,
  type DaemonAction,
} from './messages.ts';

/** The child broke the protocol or stopped answering. */
export class ChildProtocolError extends Error {
  override name = 'ChildProtocolError';
}

export interface MultiLangProcessorOptions {
  shardId: string;
  command: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `timeoutInSeconds` in ms: how long the child may take to answer one message; undefined = no limit. */
  childTimeoutMs: number | undefined;
  /** Without a limit, a WARN this often while the child has not answered. */
  slowWarningMs: number;
  /** How long a child may take to exit after its stdin is closed before it is killed. */
  closeGraceMs: number;
  logger: Logger;
  /** Gives the shard's lease up, so the shard restarts from its checkpoint in a new child. */
  releaseLease(shardId: string): void;
}

/**
 * A ShardRecordProcessor that runs the shard in a child process speaking the MultiLang protocol (Java's
 * MultiLangShardRecordProcessor and MultiLangProtocol): each call writes one message and serves the
 * child's checkpoint requests until its `status` answer. A child that exits, writes a broken message,
 * answers the wrong action or misses `timeoutInSeconds` is killed and its lease released (the Java
 * daemon exits the whole JVM instead); the shard then restarts from its checkpoint.
 */
export class MultiLangShardRecordProcessor implements ShardRecordProcessor {
  private child: ChildChannel | undefined;
  /** Set once the child failed or was closed: later calls do nothing. */
  private finished = false;

  constructor(private readonly options: MultiLangProcessorOptions) {}

  async initialize(input: InitializationInput): Promise<void> {
    const o = this.options;
    // A retried initialize (the consumer retries after a failure) starts over with a fresh child.
    this.child?.kill();
    this.finished = false;
    this.child = new ChildChannel({ command: o.command, cwd: o.cwd, env: o.env, logger: o.logger });
    o.logger.info({ pid: this.child.pid, command: o.command.join(' ') }, 'Started record processor child');
    await this.exchange('initialize', initializeMessage(input.shardId, input.extendedSequenceNumber), undefined, true);
    // A shard that ended under an earlier owner gets no further call: its child has nothing left to do.
    if (input.extendedSequenceNumber.sequenceNumber === SHARD_END.sequenceNumber) await this.close();
  }

  async processRecords(input: ProcessRecordsInput): Promise<void> {
    await this.exchange('processRecords', processRecordsMessage(input.records, input.millisBehindLatest), input.checkpointer, true);
  }

  async leaseLost(): Promise<void> {
    if (this.finished) return;
    await this.exchange('leaseLost', bareMessage('leaseLost'), undefined, false);
    await this.close();
  }

  async shardEnded(input: ShardEndedInput): Promise<void> {
    await this.exchange('shardEnded', bareMessage('shardEnded'), input.checkpointer, true);
    await this.close();
  }

  async shutdownRequested(input: ShutdownRequestedInput): Promise<void> {
    if (this.finished) return;
    await this.exchange('shutdownRequested', bareMessage('shutdownRequested'), input.checkpointer, false);
  }

  /** Writes one message and serves checkpoint requests until the child's status for it. */
  private async exchange(action: DaemonAction, message: string, checkpointer: RecordProcessorCheckpointer | undefined, releaseOnFailure: boolean): Promise<void> {
    const child = this.child;
    if (!child || this.finished) throw new ChildProcessGone(`the record processor child for ${this.options.shardId} has already stopped`);
    try {
      await child.write(message);
      for (;;) {
        const line = await this.nextLine(child, action);
        const parsed = parseChildLine(line);
        switch (parsed.kind) {
          case 'noise':
            if (line.trim() !== '') this.options.logger.warn({ stdout: line }, 'Skipped a stdout line that is not a MultiLang message');
            break;
          case 'invalid':
            throw new ChildProtocolError(`the child wrote ${parsed.reason} while ${action} was awaited: ${line.slice(0, 200)}`);
          case 'checkpoint':
            await child.write(checkpointResultMessage(parsed.request, await this.checkpoint(parsed.request, checkpointer, action)));
            break;
          case 'status':
            if (parsed.responseFor !== action) throw new ChildProtocolError(`the child answered ${parsed.responseFor} while ${action} was awaited`);
            return;
        }
      }
    } catch (err) {
      this.fail(action, err, releaseOnFailure);
      throw err;
    }
  }

  /** The next stdout line within `timeoutInSeconds`; without a limit it waits, with a WARN every slowWarningMs. */
  private async nextLine(child: ChildChannel, action: DaemonAction): Promise<string> {
    const { childTimeoutMs, slowWarningMs, logger } = this.options;
    const next = child.nextLine();
    next.catch(() => undefined); // a timeout below leaves it pending; its rejection is not news
    const started = performance.now();
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), childTimeoutMs ?? slowWarningMs)));
      const result = await Promise.race([next, timedOut]).finally(() => clearTimeout(timer));
      if (result !== 'timeout') return result;
      if (childTimeoutMs !== undefined) throw new ChildProtocolError(`the child did not answer ${action} within ${childTimeoutMs / 1000} s (timeoutInSeconds)`);
      logger.warn({ action, waitingMs: Math.round(performance.now() - started) }, 'Record processor child has not answered yet (set timeoutInSeconds to give up on it)');
    }
  }

  /** Java's MultiLangProtocol.checkpoint: the result goes back to the child, never up to the consumer. */
  private async checkpoint(request: CheckpointRequest, checkpointer: RecordProcessorCheckpointer | undefined, action: DaemonAction): Promise<string | null> {
    if (!checkpointer) {
      this.options.logger.error({ action, ...request }, 'The child asked to checkpoint where no checkpointer is given');
      return 'InvalidStateException';
    }
    try {
      const { sequenceNumber, subSequenceNumber } = request;
      if (sequenceNumber === undefined) await checkpointer.checkpoint();
      else if (subSequenceNumber === undefined) await checkpointer.checkpoint(sequenceNumber);
      else await checkpointer.checkpoint(sequenceNumber, subSequenceNumber);
      return null;
    } catch (err) {
      this.options.logger.warn({ action, ...request, ...errorFields(err) }, 'Checkpoint requested by the child failed; the child is told');
      return javaErrorName(err);
    }
  }

  private fail(action: DaemonAction, err: unknown, release: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.options.logger.error(
      { action, ...errorFields(err) },
      release ? 'Record processor child failed: killing it and releasing the lease, the shard restarts from its checkpoint' : 'Record processor child failed: killing it',
    );
    this.child?.kill();
    if (release) this.options.releaseLease(this.options.shardId);
  }

  /** Closes the child's stdin and waits for it to exit (killed after closeGraceMs), as the Java daemon ends a child. */
  private async close(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.child?.close(this.options.closeGraceMs);
  }
}
