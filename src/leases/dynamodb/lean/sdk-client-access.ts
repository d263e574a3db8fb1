import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LeanAccess } from './lean-dynamodb.ts';
import type { LeanAccessSource } from '../../renewal-thread-messages.ts';
import { errorFields, type Logger } from '../../../common/logger.ts';
import { sdkEndpointParams, type SdkEndpointConfig } from '../../../common/sdk-endpoint.ts';

/** Credentials are looked at this often, and again 5 minutes before they expire (when the SDK refreshes them). */
export const CREDENTIALS_CHECK_MS = 60000;
const REFRESH_WINDOW_MS = 300000;
const MIN_CHECK_MS = 10000;
const RETRY_MS = 5000;

/** The parts of a DynamoDBClient's resolved config read here (all public SDK config, untyped on the client). */
interface ResolvedConfig extends SdkEndpointConfig {
  maxAttempts: () => Promise<number>;
  credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>;
  endpointProvider: (params: Record<string, unknown>, context: object) => { url: URL };
}

/**
 * What the renewal thread calls DynamoDB with, resolved by the main thread's own client: its region,
 * maxAttempts, its endpoint (`clientConfig.endpoints.dynamodb` when given, else the client's endpoint rules) and its
 * credentials, whatever provider the app configured. The watch posts them once, then again whenever the
 * credentials change. Secrets are never logged.
 */
export function accessFromClient(client: DynamoDBClient, endpoint?: string, checkMs = CREDENTIALS_CHECK_MS): LeanAccessSource {
  const config = client.config as unknown as ResolvedConfig;
  return {
    watch(onAccess: (access: LeanAccess) => void, logger: Logger): () => void {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const place = placeOf(config, endpoint);
      let last: string | undefined;
      let failing = false;
      const check = async (): Promise<void> => {
        let next = checkMs;
        try {
          const where = await place();
          const c = await config.credentials();
          const fingerprint = [c.accessKeyId, c.secretAccessKey, c.sessionToken ?? '', c.expiration?.getTime() ?? ''].join('\n');
          if (fingerprint !== last && !stopped) {
            last = fingerprint;
            onAccess({ ...where, credentials: plain(c) });
          }
          failing = false;
          if (c.expiration) next = Math.max(Math.min(MIN_CHECK_MS, checkMs), Math.min(next, c.expiration.getTime() - REFRESH_WINDOW_MS - Date.now()));
        } catch (err) {
          // Once per failure streak: the main thread's own calls fail (and say so) with the same credentials.
          if (!failing) logger.warn(errorFields(err), 'Could not resolve the DynamoDB credentials or endpoint for the lease renewal thread; retrying every 5 s');
          failing = true;
          next = Math.min(RETRY_MS, checkMs);
        }
        if (stopped) return;
        timer = setTimeout(() => void check(), next);
        timer.unref();
      };
      void check();
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    },
  };
}

/**
 * The same access, asked for at each call (a LeanDynamoDBClient on the main thread): the place is resolved
 * once, the credentials every time from the client's own cache, so keys change when the SDK refreshes them
 * and a provider's failure is the call's failure, with the SDK's error. The same object while nothing changed.
 */
export function accessOnDemand(client: DynamoDBClient, endpoint?: string): () => Promise<LeanAccess> {
  const config = client.config as unknown as ResolvedConfig;
  const place = placeOf(config, endpoint);
  let last: { from: object; access: LeanAccess } | undefined;
  return async () => {
    const where = await place();
    const c = await config.credentials();
    if (last?.from !== c) last = { from: c, access: { ...where, credentials: plain(c) } };
    return last.access;
  };
}

type Place = Omit<LeanAccess, 'credentials'>;

/** resolvePlace once; a failure (no region yet, say) is not kept, so the next ask tries again. */
function placeOf(config: ResolvedConfig, endpoint: string | undefined): () => Promise<Place> {
  let where: Promise<Place> | undefined;
  return () =>
    (where ??= resolvePlace(config, endpoint).catch((err: unknown) => {
      where = undefined;
      throw err;
    }));
}

/** Region and endpoint URL, as the SDK's endpoint middleware resolves them for a DynamoDB call, and the client's maxAttempts. */
async function resolvePlace(config: ResolvedConfig, endpoint: string | undefined): Promise<Place> {
  const [params, maxAttempts] = await Promise.all([sdkEndpointParams(config), config.maxAttempts()]);
  const region = params.Region;
  if (endpoint !== undefined) return { region, endpoint, maxAttempts };
  return { region, endpoint: config.endpointProvider({ ...params }, {}).url.href, maxAttempts };
}

/** Only what signing needs: the SDK's credential objects carry more ($source, account id) that need not cross. */
function plain(c: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }): LeanAccess['credentials'] {
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    ...(c.sessionToken !== undefined ? { sessionToken: c.sessionToken } : {}),
    ...(c.expiration !== undefined ? { expiration: c.expiration } : {}),
  };
}
