/** The resolved-config fields of an SDK client that decide its endpoint (public SDK config, untyped on the client). */
export interface SdkEndpointConfig {
  region: () => Promise<string>;
  useFipsEndpoint: () => Promise<boolean>;
  useDualstackEndpoint: () => Promise<boolean>;
  /** Defined exactly when the app gave the client an endpoint (`isCustomEndpoint`). */
  endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>;
  isCustomEndpoint?: boolean;
  ignoreConfiguredEndpointUrls?: boolean;
  serviceConfiguredEndpoint?: () => Promise<string | undefined>;
}

/** The endpoint rules' common parameters, as the SDK's endpoint middleware builds them. */
export interface SdkEndpointParams {
  Region: string;
  UseFIPS: boolean;
  UseDualStack: boolean;
  Endpoint?: string;
}

/**
 * What the SDK's endpoint middleware passes to the client's `endpointProvider`, for the two lean paths
 * that send without it (GetRecords; the renewal thread's DynamoDB calls, resolved on the main thread):
 * region, FIPS, dual-stack, and the endpoint given in code or, without one, the configured one
 * (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL or the profile's endpoint_url).
 */
export async function sdkEndpointParams(config: SdkEndpointConfig): Promise<SdkEndpointParams> {
  const [region, useFips, useDualStack, custom, configured] = await Promise.all([
    config.region(),
    config.useFipsEndpoint(),
    config.useDualstackEndpoint(),
    config.isCustomEndpoint ? config.endpoint?.() : undefined,
    !config.isCustomEndpoint && !config.ignoreConfiguredEndpointUrls ? config.serviceConfiguredEndpoint?.() : undefined,
  ]);
  const Endpoint = custom ? `${custom.protocol}//${custom.hostname}${custom.port !== undefined ? `:${custom.port}` : ''}${custom.path}` : configured;
  return { Region: region, UseFIPS: useFips, UseDualStack: useDualStack, ...(Endpoint ? { Endpoint } : {}) };
}
