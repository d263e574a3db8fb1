/**
 * The KCL's exception tree as named classes. `retriable` tells the caller whether trying
 * the same call again later can succeed (KafkaJS style); `cause` keeps the underlying error.
 */
export class KclError extends Error {
  /** True when the same call may succeed if tried again later. */
  readonly retriable: boolean;
  /**
   * Creates the error.
   * @param message - what failed, and what to do about it.
   * @param options - `cause`: the underlying error; `retriable`: default false.
   */
  constructor(message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options?.retriable ?? false;
  }
}

/** The lease is lost, or the shard has already ended: this processor can no longer checkpoint. */
export class ShutdownException extends KclError {}

/** The KCL is in a state it cannot recover from by retrying, e.g. the lease table is gone. */
export class InvalidStateException extends KclError {}

/** DynamoDB or Kinesis throttled the call; retry later. */
export class ThrottlingException extends KclError {
  /** Always retriable. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, retriable: true });
  }
}

/** A dependency (DynamoDB, Kinesis) failed in a way that may succeed on retry. */
export class KinesisClientLibDependencyException extends KclError {
  /** Always retriable. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, retriable: true });
  }
}

/** A bad argument: a checkpoint value that is not a sequence number or is out of range, or bad config. */
export class IllegalArgumentError extends KclError {}

/** Start-up failed for good (e.g. the stream does not exist after every initialization attempt). */
export class InitializationError extends KclError {}

/** A stream, shard or table that does not exist. */
export class ResourceNotFoundError extends KclError {}
