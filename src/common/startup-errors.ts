/**
 * Start-up failures sorted into the ones a retry cannot fix (missing region or credentials, a rejected
 * token, access denied, a missing stream, a rejected request, a malformed endpoint) and the ones it may
 * (refused or dropped connections, throttling, 5xx, timeouts), with one line that names the service,
 * the call, the root cause and the fix.
 */
export interface StartupFailure {
  retriable: boolean;
  /** e.g. `DynamoDB DescribeTable my-app failed: Region is missing (set clientConfig.region or AWS_REGION)` */
  message: string;
}

interface Rule {
  test: (root: ErrorLike) => boolean;
  /** What to change; given the message naming the service and call. */
  fix: string | ((top: string) => string);
}

interface ErrorLike {
  name: string;
  message: string;
  code?: string;
}

const named =
  (...names: string[]) =>
  (e: ErrorLike): boolean =>
    names.includes(e.name) || names.includes(e.code ?? '');

/** Causes that no retry can fix, with what the user must change. First match wins. */
const FINAL: Rule[] = [
  { test: (e) => /Region is missing/i.test(e.message), fix: 'set clientConfig.region or AWS_REGION' },
  {
    test: (e) => e.name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message),
    fix: 'set clientConfig.credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE',
  },
  {
    test: named('UnrecognizedClientException', 'InvalidSignatureException', 'MissingAuthenticationTokenException', 'InvalidClientTokenId', 'ExpiredTokenException', 'IncompleteSignatureException'),
    fix: 'the credentials were rejected: check the access key, secret, session token and region',
  },
  { test: named('AccessDeniedException', 'AccessDenied', 'KMSAccessDeniedException'), fix: "grant the worker's IAM identity the Kinesis and DynamoDB permissions the README lists" },
  {
    test: named('ResourceNotFoundException', 'ResourceNotFoundError'),
    fix: (top) => (top.startsWith('DynamoDB') ? 'check the application (table) name and the region: the first worker creates the lease table' : 'create it, or check the name and clientConfig.region'),
  },
  { test: named('ValidationException'), fix: 'check applicationName / tableName: 3-255 characters of a-z, A-Z, 0-9, _ - .' },
  { test: named('InvalidArgumentException'), fix: 'check streamName / streamArn' },
  { test: (e) => e.code === 'ERR_INVALID_URL' || /Invalid URL/.test(e.message), fix: 'check clientConfig.endpoints: each must be a full URL such as http://127.0.0.1:4567' },
];

/** DynamoDB calls the lease table makes: their messages get the service named in front. */
const DYNAMODB_CALLS = /^(DescribeTable|CreateTable|Scan|GetItem|PutItem|UpdateItem|DeleteItem|Query|UpdateTable|CreateLease|TakeLease|RenewLease)\b/;
const KINESIS_CALLS = /^(ListShards|DescribeStreamSummary|GetShardIterator|GetRecords|RegisterStreamConsumer|DescribeStreamConsumer)\b/;

export function classifyStartupError(err: unknown): StartupFailure {
  const chain = causeChain(err);
  const root = chain.at(-1) ?? { name: 'Error', message: String(err) };
  const rule = FINAL.find((r) => chain.some((e) => r.test(e)));
  const first = chain.find((e) => e.name !== 'InitializationError') ?? root;
  const top = withService(first.message);
  // A library error that states the whole fact (a missing stream) needs no server wording after it.
  const withRoot = first.message.includes(root.message) || first.name === 'ResourceNotFoundError' ? top : `${top}: ${root.message}`;
  if (!rule) return { retriable: true, message: withRoot };
  return { retriable: false, message: `${withRoot} (${typeof rule.fix === 'string' ? rule.fix : rule.fix(top)})` };
}

function withService(message: string): string {
  if (message.startsWith('Stream ')) return `Kinesis stream ${message.slice('Stream '.length)}`;
  if (DYNAMODB_CALLS.test(message)) return `DynamoDB ${message}`;
  if (KINESIS_CALLS.test(message)) return `Kinesis ${message}`;
  return message;
}

function causeChain(err: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && chain.length < 10; e = (e as { cause?: unknown }).cause) {
    if (typeof e !== 'object') {
      chain.push({ name: 'Error', message: typeof e === 'string' ? e : 'unknown error' });
      break;
    }
    const { name, message, code } = e as { name?: unknown; message?: unknown; code?: unknown };
    chain.push({ name: typeof name === 'string' ? name : 'Error', message: typeof message === 'string' ? message : 'unknown error', ...(typeof code === 'string' ? { code } : {}) });
  }
  return chain;
}
