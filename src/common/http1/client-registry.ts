import { KeepAliveHttp1Client } from './keep-alive-client.ts';

const attached = new WeakMap<object, KeepAliveHttp1Client>();

/**
 * Gives an SDK client that ts-kcl built itself (its request handler is ts-kcl's own default, with no
 * app settings) a KeepAliveHttp1Client for the lean paths to send on; returned for the owner to
 * destroy with the client. A client the app passed never gets one: its handler (proxy, TLS, agent
 * settings) carries every call.
 */
export function attachHttp1Client(sdkClient: object): KeepAliveHttp1Client {
  const http = new KeepAliveHttp1Client();
  attached.set(sdkClient, http);
  return http;
}

/** The client's own KeepAliveHttp1Client, if ts-kcl gave it one. */
export function http1ClientOf(sdkClient: object): KeepAliveHttp1Client | undefined {
  return attached.get(sdkClient);
}
