import { NodeHttp2Handler, type NodeHttp2HandlerOptions } from '@smithy/node-http-handler';

type HandleArgs = Parameters<NodeHttp2Handler['handle']>;
type HandleResult = ReturnType<NodeHttp2Handler['handle']>;

/**
 * The HTTP/2 request handler for SubscribeToShard. It delegates to a `NodeHttp2Handler` but tells it
 * every request is a plain one (`isEventStream: false`), so event streams run on the pooled,
 * multiplexed session instead of an isolated one. The stock handler closes an isolated session
 * (GOAWAY) right after the response headers; real Kinesis keeps streaming, kinesis-local breaks the
 * session ("Deserialization error"). On the pooled session both work, and all of a worker's shard
 * subscriptions share one connection. Stopping a subscription (its abort signal) closes only its
 * HTTP/2 stream; the session is closed by `destroy()`.
 */
export class EventStreamHttp2Handler {
  /** Tells the SDK this handler speaks HTTP/2. */
  readonly metadata = {
    /** The protocol: `h2`. */
    handlerProtocol: 'h2',
  };
  private readonly delegate: NodeHttp2Handler;

  /** Options for a new `NodeHttp2Handler`, or one to delegate to (it is then shared, and destroyed with this one). */
  constructor(options: NodeHttp2HandlerOptions | NodeHttp2Handler = {}) {
    this.delegate = options instanceof NodeHttp2Handler ? options : new NodeHttp2Handler({ ...options, disableConcurrentStreams: false });
  }

  /** Sends one request on the pooled HTTP/2 session. */
  handle(request: HandleArgs[0], options: HandleArgs[1] = {}): HandleResult {
    return this.delegate.handle(request, { ...options, isEventStream: false });
  }

  /** Changes one option of the underlying handler (the SDK's HttpHandler contract). */
  updateHttpClientConfig(key: keyof NodeHttp2HandlerOptions, value: NodeHttp2HandlerOptions[typeof key]): void {
    this.delegate.updateHttpClientConfig(key, value);
  }

  /** The underlying handler's options (the SDK's HttpHandler contract). */
  httpHandlerConfigs(): NodeHttp2HandlerOptions {
    return this.delegate.httpHandlerConfigs();
  }

  /** Closes the HTTP/2 session and every stream on it. */
  destroy(): void {
    this.delegate.destroy();
  }
}
