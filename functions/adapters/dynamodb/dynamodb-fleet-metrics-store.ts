import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConflictError } from '../../domain/errors.js';
import { EMPTY_BASELINE, type Baseline, type InstanceRecord } from '../../observability/fleet-merge.js';
import { InstanceRetiredError } from '../../observability/fleet-metrics.js';
import type { MetricsSnapshot } from '../../observability/metric-registry.js';
import { conditionalPut, dynamoCall, queryAll } from './dynamodb-call.js';
import type { FleetMetricsStore, FleetView, FleetViewStore } from '../../domain/ports/metrics.js';

// All of the fleet's metrics under one partition: `INSTANCE#<id>` items and the
// `BASELINE`; the fleet view (the merged snapshot) in a partition of its own so
// a scrape reads it alone. Snapshots are gzipped JSON, well inside the 400 KB item limit
// because label values are capped.

const PK = 'FLEET';
const instanceSk = (id: string) => `INSTANCE#${id}`;
const BASELINE_SK = 'BASELINE';
const VIEW_KEY = { pk: 'FLEET_VIEW', sk: 'VIEW' };
/** Instance items outlive any retirement window; TTL only tidies what a scrape never folded. */
const INSTANCE_TIDY_SECONDS = 7 * 24 * 3600;

const pack = (value: unknown): Uint8Array => gzipSync(Buffer.from(JSON.stringify(value), 'utf8'));
const unpack = <T>(value: Uint8Array): T => JSON.parse(gunzipSync(Buffer.from(value)).toString('utf8')) as T;

export class DynamoDbFleetMetricsStore implements FleetMetricsStore, FleetViewStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async putInstance(record: InstanceRecord, first: boolean): Promise<void> {
    const item = {
      pk: PK,
      sk: instanceSk(record.instanceId),
      instanceId: record.instanceId,
      revision: record.revision,
      startedAt: record.startedAt,
      updatedAt: record.updatedAt,
      retired: false,
      metrics: pack(record.metrics),
      ttl: Math.ceil(record.updatedAt / 1000) + INSTANCE_TIDY_SECONDS,
    };
    // A first flush may find its own earlier attempt (reply lost) and replace it while live;
    // later ones must find the item, or it was folded and deleted.
    const condition = first ? 'attribute_not_exists(pk) OR retired = :false' : 'attribute_exists(pk) AND retired = :false';
    if (!(await conditionalPut(this.client, this.tableName, item, condition, { ':false': false }))) {
      throw new InstanceRetiredError(`instance ${record.instanceId} was retired`);
    }
  }

  async readFleet(): Promise<{ baseline: Baseline; instances: InstanceRecord[] }> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': PK }),
      ConsistentRead: true,
    });
    let baseline: Baseline = EMPTY_BASELINE;
    const instances: InstanceRecord[] = [];
    for (const item of items) {
      if (item.sk === BASELINE_SK) {
        baseline = { revision: item.revision as number, ...unpack<Omit<Baseline, 'revision'>>(item.body as Uint8Array) };
        continue;
      }
      instances.push({
        instanceId: item.instanceId as string,
        revision: item.revision as number,
        startedAt: item.startedAt as number,
        updatedAt: item.updatedAt as number,
        retired: item.retired as boolean,
        metrics: unpack<MetricsSnapshot>(item.metrics as Uint8Array),
      });
    }
    return { baseline, instances };
  }

  async retireInstance(instanceId: string, revision: number): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: PK, sk: instanceSk(instanceId) }),
        UpdateExpression: 'SET retired = :true',
        ConditionExpression: 'revision = :revision AND retired = :false',
        ExpressionAttributeValues: marshall({ ':true': true, ':false': false, ':revision': revision }),
      }),
    );
  }

  async saveBaseline(baseline: Baseline, expectedRevision: number): Promise<boolean> {
    const { revision, ...body } = baseline;
    return this.conditional(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({ pk: PK, sk: BASELINE_SK, revision, body: pack(body) }),
        ConditionExpression: expectedRevision === 0 ? 'attribute_not_exists(pk)' : 'revision = :expected',
        ExpressionAttributeValues: expectedRevision === 0 ? undefined : marshall({ ':expected': expectedRevision }),
      }),
    );
  }

  async deleteInstance(instanceId: string): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: PK, sk: instanceSk(instanceId) }),
          ConditionExpression: 'attribute_not_exists(pk) OR retired = :true',
          ExpressionAttributeValues: marshall({ ':true': true }),
        }),
      ),
    ).catch((error: unknown) => {
      if (!(error instanceof ConflictError)) throw error;
    });
  }

  async readView(): Promise<FleetView | undefined> {
    const { Item } = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(VIEW_KEY), ConsistentRead: true })));
    if (!Item) return undefined;
    const item = unmarshall(Item);
    return { builtAt: item.builtAt as number, metrics: unpack<MetricsSnapshot>(item.metrics as Uint8Array) };
  }

  async saveView(view: FleetView): Promise<boolean> {
    return this.conditional(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({ ...VIEW_KEY, builtAt: view.builtAt, metrics: pack(view.metrics) }),
        ConditionExpression: 'attribute_not_exists(pk) OR builtAt < :builtAt',
        ExpressionAttributeValues: marshall({ ':builtAt': view.builtAt }),
      }),
    );
  }

  private async conditional(command: PutItemCommand | UpdateItemCommand): Promise<boolean> {
    try {
      await dynamoCall(() => this.client.send(command as PutItemCommand));
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }
}
