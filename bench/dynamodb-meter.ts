// A DynamoDB client for benchmarks that asks for ReturnConsumedCapacity on every
// item call and counts what came back: capacity units, calls and response bytes.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HttpResponse } from '@smithy/types';

const ITEM_COMMANDS = new Set(['GetItemCommand', 'PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'QueryCommand', 'ScanCommand']);

export interface Usage {
  calls: number;
  readUnits: number;
  writeUnits: number;
  /** Calls whose answer carried no ConsumedCapacity (the emulator did not report it). */
  unreported: number;
  /** Bytes of the HTTP responses: what the caller read off the wire. */
  responseBytes: number;
  /** Bytes of the HTTP requests: what the caller sent. */
  requestBytes: number;
  /** Calls per command, refused conditional writes included (they cost a write unit too). */
  commands: Record<string, number>;
}

export const emptyUsage = (): Usage => ({ calls: 0, readUnits: 0, writeUnits: 0, unreported: 0, responseBytes: 0, requestBytes: 0, commands: {} });

export interface MeteredClient {
  readonly client: DynamoDBClient;
  /** Usage since the last call of `take`. */
  take(): Usage;
}

const isWrite = (command: string): boolean => command !== 'GetItemCommand' && command !== 'QueryCommand' && command !== 'ScanCommand';

export const meteredDynamoDb = (endpoint: string): MeteredClient => {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  let usage = emptyUsage();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const input = args.input as { ReturnConsumedCapacity?: string };
      if (ITEM_COMMANDS.has(command)) input.ReturnConsumedCapacity ??= 'TOTAL';
      usage.commands[command] = (usage.commands[command] ?? 0) + 1;
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity?.CapacityUnits;
      usage.calls += 1;
      if (consumed === undefined) usage.unreported += 1;
      else if (isWrite(command)) usage.writeUnits += consumed;
      else usage.readUnits += consumed;
      return result;
    },
    { step: 'initialize', name: 'benchCapacityMeter' },
  );
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body?: string | Uint8Array };
      usage.requestBytes += typeof request.body === 'string' ? Buffer.byteLength(request.body) : (request.body?.byteLength ?? 0);
      const result = await next(args);
      usage.responseBytes += Number((result.response as HttpResponse).headers['content-length'] ?? 0);
      return result;
    },
    { step: 'deserialize', name: 'benchByteMeter' },
  );
  return {
    client,
    take: () => {
      const taken = usage;
      usage = emptyUsage();
      return taken;
    },
  };
};
