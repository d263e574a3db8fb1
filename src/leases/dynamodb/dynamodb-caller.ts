import type {
  BatchGetItemCommandInput,
  BatchGetItemCommandOutput,
  CreateTableCommandInput,
  CreateTableCommandOutput,
  DeleteItemCommandInput,
  DeleteItemCommandOutput,
  DescribeTableCommandInput,
  DescribeTableCommandOutput,
  DynamoDBClient,
  GetItemCommandInput,
  GetItemCommandOutput,
  PutItemCommandInput,
  PutItemCommandOutput,
  QueryCommandInput,
  QueryCommandOutput,
  ScanCommandInput,
  ScanCommandOutput,
  UpdateItemCommandInput,
  UpdateItemCommandOutput,
  UpdateTableCommandInput,
  UpdateTableCommandOutput,
} from '@aws-sdk/client-dynamodb';
import type { LeanDynamoDB, LeanOperation } from './lean/lean-dynamodb.ts';

/**
 * What the lease table's code calls DynamoDB through: the app's SDK client, or the lean caller
 * (`AwsClients.leaseTable` on a client ts-kcl built, and the renewal thread's).
 */
export type DynamoDBCaller = DynamoDBClient | LeanDynamoDB;

/** Each operation sent through a DynamoDBCaller, with the SDK command's input and output. */
interface Operations {
  BatchGetItem: [BatchGetItemCommandInput, BatchGetItemCommandOutput];
  CreateTable: [CreateTableCommandInput, CreateTableCommandOutput];
  DeleteItem: [DeleteItemCommandInput, DeleteItemCommandOutput];
  DescribeTable: [DescribeTableCommandInput, DescribeTableCommandOutput];
  GetItem: [GetItemCommandInput, GetItemCommandOutput];
  PutItem: [PutItemCommandInput, PutItemCommandOutput];
  Query: [QueryCommandInput, QueryCommandOutput];
  Scan: [ScanCommandInput, ScanCommandOutput];
  UpdateItem: [UpdateItemCommandInput, UpdateItemCommandOutput];
  UpdateTable: [UpdateTableCommandInput, UpdateTableCommandOutput];
}
export type DynamoDBOperation = keyof Operations & LeanOperation;

/**
 * The SDK's command classes, loaded on the first call through an SDK client (the main thread has the
 * SDK loaded anyway); never loaded where only a lean caller is used (the renewal thread).
 */
let sdk: Promise<typeof import('@aws-sdk/client-dynamodb')> | undefined;
const loadSdk = (): Promise<typeof import('@aws-sdk/client-dynamodb')> => (sdk ??= import('@aws-sdk/client-dynamodb'));

const isSdkClient = (caller: DynamoDBCaller): caller is DynamoDBClient => 'send' in caller;

/** One request: through the lean caller, or as the SDK command of the same name. */
export async function sendTo<K extends DynamoDBOperation>(caller: DynamoDBCaller, operation: K, input: Operations[K][0], options: { abortSignal: AbortSignal }): Promise<Operations[K][1]> {
  if (!isSdkClient(caller)) return (await caller.call(operation, input, options)) as Operations[K][1];
  const Command = (await loadSdk())[`${operation}Command`] as unknown as new (input: Operations[K][0]) => Parameters<DynamoDBClient['send']>[0];
  return caller.send(new Command(input), options);
}
