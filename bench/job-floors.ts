// The floors the job benchmarks compare against, on their own fauxqs and dynalite:
// - a webhook delivery: the queue's send, receive and delete around the signed POST to the same receiver;
//   and, as a figure, the same with the DynamoDB calls the vault's design makes per delivery;
// - a rotation: the queue's send, receive and delete around the DynamoDB calls a password
//   rotation makes (rotation-job.ts and rotation-service.ts: 4 reads and 8 writes, in order).
// Consumers run like the worker's event source mapping: `concurrency` receive loops, batches of `batchSize`.
import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { newSigningSecret, signedHeaders } from '../functions/domain/webhooks/webhook-signing.js';

export interface ConsumerShape {
  readonly concurrency: number;
  readonly batchSize: number;
  /** Whether a batch's messages run concurrently (webhooks) or one after another (rotations). */
  readonly concurrentBatch: boolean;
}

const ROTATION_READS = 4;
const ROTATION_WRITES = 8;

export const sqsClient = (endpoint: string): SQSClient =>
  new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });

/** Sends `count` messages from `producers` loops while `shape` consumers run `work` on each; returns items per second. */
const pipeline = async (
  sqs: SQSClient,
  name: string,
  count: number,
  producers: number,
  shape: ConsumerShape,
  work: (message: Message) => Promise<void>,
  /** Around each send: what the producer records before it and after it (nothing for the plain floors). */
  produceOne: (index: number, send: () => Promise<void>) => Promise<void> = (_, send) => send(),
) => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `floor-${name}-${Date.now()}`, Attributes: { VisibilityTimeout: '60' } }));
  let done = 0;
  let lastAt = 0;
  const started = performance.now();
  const produce = async (first: number) => {
    for (let i = first; i < count; i += producers) {
      await produceOne(i, async () => {
        await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ job_id: `job_${i}`, payload: randomBytes(96).toString('base64') }) }));
      });
    }
  };
  const run = async (message: Message) => {
    await work(message);
    done += 1;
    lastAt = performance.now();
  };
  const consume = async () => {
    while (done < count) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: shape.batchSize, WaitTimeSeconds: 1 }));
      if (Messages.length === 0) continue;
      if (shape.concurrentBatch) await Promise.all(Messages.map(run));
      else for (const message of Messages) await run(message);
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    }
  };
  await Promise.all([...Array.from({ length: producers }, (_, i) => produce(i)), ...Array.from({ length: shape.concurrency }, consume)]);
  return count / ((lastAt - started) / 1000);
};

const signedPost = async (receiverUrl: string, secret: string, message: Message): Promise<void> => {
  const body = message.Body ?? '';
  const response = await fetch(receiverUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedHeaders([secret], message.MessageId ?? '', Math.floor(Date.now() / 1000), body) },
    body,
  });
  await response.arrayBuffer();
  if (response.status >= 300) throw new Error(`the receiver answered ${response.status}`);
};

/** Deliveries per second: send, receive, sign and POST to `receiverUrl`, delete. */
export const webhookFloor = async (sqs: SQSClient, receiverUrl: string, count: number, producers: number, shape: ConsumerShape): Promise<number> => {
  const secret = newSigningSecret();
  return pipeline(sqs, 'webhook', count, producers, shape, (message) => signedPost(receiverUrl, secret, message));
};

/**
 * The delivery floor plus the DynamoDB calls the vault's design makes durable per delivery, in its
 * order, on the same dynalite: the outbox job's conditional create and `sentAt` around the send
 * (webhook-event-publisher.ts, jobs.ts); then, in the worker (deliver-webhook.ts), the lease claim,
 * the job and subscription reads, the `unknown` attempt before the POST, the job's finish, the
 * attempt's outcome and its audit record. What the design costs, with no vault code in the loop.
 */
export const webhookBookkeepingFloor = async (
  sqs: SQSClient,
  dynamodb: DynamoDBClient,
  table: string,
  receiverUrl: string,
  count: number,
  producers: number,
  shape: ConsumerShape,
): Promise<number> => {
  const secret = newSigningSecret();
  const run = `${Date.now()}`;
  const item = (pk: string, sk: string) => ({ pk: { S: pk }, sk: { S: sk }, value: { S: randomBytes(192).toString('base64') } });
  const put = (pk: string, sk: string, condition?: string) =>
    dynamodb.send(new PutItemCommand({ TableName: table, Item: item(pk, sk), ConditionExpression: condition }));
  const get = (pk: string, sk: string) => dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }));
  const update = (pk: string, field: string) =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: pk }, sk: { S: 'JOB' } },
        UpdateExpression: `SET ${field} = :at`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': { S: new Date().toISOString() } },
      }),
    );
  const job = (i: number) => `DELIVERY#${run}#job_${i}`;
  const subscription = `WEBHOOKS#${run}`;
  await put(subscription, 'wh_0');
  return pipeline(
    sqs,
    'webhook-bookkeeping',
    count,
    producers,
    shape,
    async (message) => {
      const pk = job(Number(/"job_(\d+)"/.exec(message.Body ?? '')?.[1]));
      await put(pk, 'LEASE', 'attribute_not_exists(pk)');
      await get(pk, 'JOB');
      await get(subscription, 'wh_0');
      await put(`ATTEMPTS#${run}`, `${pk}#unknown`);
      await signedPost(receiverUrl, secret, message);
      await update(pk, 'finishedAt');
      await put(`ATTEMPTS#${run}`, `${pk}#success`);
      await put(`AUDIT#${run}`, pk);
    },
    async (index, send) => {
      await put(job(index), 'JOB', 'attribute_not_exists(pk)');
      await send();
      await update(job(index), 'sentAt');
    },
  );
};

/** Rotations per second: send, receive, a rotation's DynamoDB reads and writes one after another, delete. */
export const rotationFloor = async (sqs: SQSClient, dynamodb: DynamoDBClient, table: string, count: number, shape: ConsumerShape): Promise<number> => {
  let sequence = 0;
  return pipeline(sqs, 'rotation', count, 1, shape, async (message) => {
    const pk = { S: `FLOOR#${message.MessageId ?? ''}` };
    for (let i = 0; i < ROTATION_READS; i += 1)
      await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk, sk: { S: 'HEAD' } }, ConsistentRead: true }));
    for (let i = 0; i < ROTATION_WRITES; i += 1) {
      sequence += 1;
      await dynamodb.send(
        new PutItemCommand({
          TableName: table,
          Item: { pk, sk: { S: `STEP#${i}` }, value: { S: randomBytes(384).toString('base64') }, revision: { N: String(sequence) } },
          ConditionExpression: 'attribute_not_exists(pk) OR revision < :revision',
          ExpressionAttributeValues: { ':revision': { N: String(sequence) } },
        }),
      );
    }
  });
};
