// The audited read's floor behind an HTTP hop: a bare node:http server, in its
// own process like the vault, whose every GET does the storage work of an
// audited read (the GetItem and one audit PutItem, in parallel) and nothing
// else. Run by bench/core.bench.ts: `node --import tsx … <port> <dynamodb endpoint>`.
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { AUDIT_TABLE, STATE_TABLE } from '../../functions/runtime/definitions.js';

const [port, endpoint] = process.argv.slice(2);
const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

createServer((request, response) => {
  const path = decodeURIComponent((request.url ?? '/').slice(1));
  const time = new Date().toISOString();
  const eventId = `aev_${randomUUID().replaceAll('-', '')}`;
  void Promise.all([
    client.send(new GetItemCommand({ TableName: STATE_TABLE.id, Key: { pk: { S: 'T#default#SECRETS' }, sk: { S: path } }, ConsistentRead: true })),
    client.send(
      new PutItemCommand({
        TableName: AUDIT_TABLE.id,
        Item: { pk: { S: `DAY#${time.slice(0, 10)}` }, sk: { S: `${time}#${eventId}` }, eventId: { S: eventId }, time: { S: time }, path: { S: path } },
      }),
    ),
  ]).then(
    ([read]) => {
      response.writeHead(read.Item ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ path, version: read.Item?.version?.N }));
    },
    () => {
      response.writeHead(503);
      response.end();
    },
  );
}).listen(Number(port), '127.0.0.1');
