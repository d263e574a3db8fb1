/**
 * The local servers as environment variables an app (and every ts-kcl command) reads with no code: the
 * AWS SDK takes its endpoints from AWS_ENDPOINT_URL_<SERVICE>, and Node trusts the local certificate
 * through NODE_EXTRA_CA_CERTS (read at start-up only, so it must be in the environment, not loaded later).
 */
export interface LocalEnvironment {
  kinesisEndpoint: string;
  dynamodbEndpoint: string;
  /** The local certificate (PEM) when the Kinesis endpoint is https. */
  caCertPath?: string;
}

export function environmentVariables(env: LocalEnvironment): [string, string][] {
  return [
    ['AWS_REGION', 'us-east-1'],
    ['AWS_ACCESS_KEY_ID', 'local'],
    ['AWS_SECRET_ACCESS_KEY', 'local'],
    ['AWS_ENDPOINT_URL_KINESIS', env.kinesisEndpoint],
    ['AWS_ENDPOINT_URL_DYNAMODB', env.dynamodbEndpoint],
    ...(env.caCertPath !== undefined ? [['NODE_EXTRA_CA_CERTS', env.caCertPath] as [string, string]] : []),
  ];
}

/** KEY=value lines (dotenv format) with a header saying how to load them. */
export function formatEnvFile(env: LocalEnvironment, fileName: string): string {
  return [
    '# Written by `ts-kcl local`: the endpoints of the local Kinesis and DynamoDB servers.',
    `# Load it into the shell that starts your app or a ts-kcl command:  set -a; . ./${fileName}; set +a`,
    ...environmentVariables(env).map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n');
}

export const exportLines = (env: LocalEnvironment): string[] => environmentVariables(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`);

const shellQuote = (v: string): string => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`);
