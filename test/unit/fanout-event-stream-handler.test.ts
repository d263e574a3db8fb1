import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { EventStreamHttp2Handler } from '../../src/common/event-stream-http2-handler.ts';

describe('EventStreamHttp2Handler', () => {
  it('delegates to a NodeHttp2Handler with isEventStream: false, so event streams use the pooled session', async () => {
    const seen: unknown[] = [];
    class Spy extends NodeHttp2Handler {
      override handle(...args: Parameters<NodeHttp2Handler['handle']>): ReturnType<NodeHttp2Handler['handle']> {
        seen.push(args[1]);
        return Promise.resolve({ response: {} as never });
      }
    }
    const handler = new EventStreamHttp2Handler(new Spy());
    const signal = new AbortController().signal;
    await handler.handle({} as never, { abortSignal: signal, isEventStream: true });
    assert.deepEqual(seen, [{ abortSignal: signal, isEventStream: false }]);
    assert.equal(handler.metadata.handlerProtocol, 'h2');
    handler.destroy();
  });
});
