import { DeleteItemCommand, GetItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError } from '../../domain/errors.js';
import type { DynamicEngine, DynamicRole, EngineHealth, Lease } from '../../domain/dynamic/dynamic.js';
import type { DynamicRepository } from '../../domain/ports/dynamic.js';
import type { Page } from '../../domain/ports/secrets.js';
import { conditionalPut, dynamoCall, gsi1Before, queryAll } from './dynamodb-call.js';
import { decodeSortKeyCursor, encodeSortKeyCursor } from './sort-key-cursor.js';

// Layout in the state table:
// - engine: pk T#<tenant>#DYNENGINES, sk <engine>; gsi1 DYNENGINES / <tenant>#<engine> lists every tenant's for the probes;
// - role: pk T#<tenant>#DYNROLES#<engine>, sk <role>; `activeLeases` is the quota's counter;
// - lease: pk T#<tenant>#LEASES, sk <lease id>; while the scheduler has work on it, gsi1 LEASEDUE / <next attempt ISO>#<tenant>#<lease id>
//   (sparse: an irrevocable lease leaves the index and waits for an operator).

const ENGINES_INDEX = 'DYNENGINES';
const DUE_INDEX = 'LEASEDUE';
const enginesPk = (tenantId: string) => `T#${tenantId}#DYNENGINES`;
const rolesPk = (tenantId: string, engine: string) => `T#${tenantId}#DYNROLES#${engine}`;
const leasesPk = (tenantId: string) => `T#${tenantId}#LEASES`;
const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk'];

type Item = Record<string, unknown>;

const strip = <T>(item: Item): T => Object.fromEntries(Object.entries(item).filter(([key]) => !KEY_ATTRIBUTES.includes(key))) as T;

const itemToEngine = (item: Item): DynamicEngine => {
  const engine = strip<DynamicEngine>(item);
  return { ...engine, health: (item.health as EngineHealth | undefined) ?? null, irrevocableLeases: (item.irrevocableLeases as number | undefined) ?? 0 };
};
const itemToRole = (item: Item): DynamicRole => ({ ...strip<DynamicRole>(item), activeLeases: (item.activeLeases as number | undefined) ?? 0 });
const itemToLease = (item: Item): Lease => ({ ...strip<Lease>(item), lastError: (item.lastError as string | null | undefined) ?? null });

const leaseItem = (lease: Lease): Item => ({
  pk: leasesPk(lease.tenantId),
  sk: lease.leaseId,
  ...lease,
  ...(lease.nextAttemptAt ? { gsi1pk: DUE_INDEX, gsi1sk: `${lease.nextAttemptAt}#${lease.tenantId}#${lease.leaseId}` } : {}),
});

export class DynamoDbDynamicRepository implements DynamicRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async createEngine(engine: DynamicEngine): Promise<void> {
    const item = { pk: enginesPk(engine.tenantId), sk: engine.name, gsi1pk: ENGINES_INDEX, gsi1sk: `${engine.tenantId}#${engine.name}`, ...engine };
    if (!(await conditionalPut(this.client, this.tableName, item, 'attribute_not_exists(pk)'))) throw new ConflictError(`engine ${engine.name} already exists`);
  }

  async getEngine(tenantId: string, name: string): Promise<DynamicEngine | undefined> {
    const item = await this.get(enginesPk(tenantId), name);
    return item ? itemToEngine(item) : undefined;
  }

  async listEngines(tenantId: string): Promise<DynamicEngine[]> {
    return (await this.query(enginesPk(tenantId))).map(itemToEngine);
  }

  async listAllEngines(): Promise<DynamicEngine[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': ENGINES_INDEX }),
    });
    return items.map(itemToEngine);
  }

  deleteEngine(tenantId: string, name: string): Promise<boolean> {
    return this.delete(enginesPk(tenantId), name);
  }

  async recordHealth(tenantId: string, name: string, health: EngineHealth): Promise<void> {
    await this.update(enginesPk(tenantId), name, 'SET health = :health', { ':health': health }).catch(ignoreConflict);
  }

  async countIrrevocable(tenantId: string, engine: string, delta: number): Promise<void> {
    await this.update(enginesPk(tenantId), engine, 'ADD irrevocableLeases :delta', { ':delta': delta }).catch(ignoreConflict);
  }

  async putRole(role: Omit<DynamicRole, 'activeLeases'>): Promise<void> {
    const names = { '#statements': 'statements' };
    const values = {
      ':statements': role.statements,
      ':defaultTtl': role.defaultTtlSeconds,
      ':maxTtl': role.maxTtlSeconds,
      ':maxLeases': role.maxLeases,
      ':tenant': role.tenantId,
      ':engine': role.engine,
      ':name': role.name,
      ':createdAt': role.createdAt,
      ':zero': 0,
    };
    const expression =
      'SET #statements = :statements, defaultTtlSeconds = :defaultTtl, maxTtlSeconds = :maxTtl, maxLeases = :maxLeases, tenantId = :tenant, engine = :engine, ' +
      '#name = :name, createdAt = if_not_exists(createdAt, :createdAt), activeLeases = if_not_exists(activeLeases, :zero)';
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: rolesPk(role.tenantId, role.engine), sk: role.name }),
          UpdateExpression: expression,
          ExpressionAttributeNames: { ...names, '#name': 'name' },
          ExpressionAttributeValues: marshall(values),
        }),
      ),
    );
  }

  async getRole(tenantId: string, engine: string, name: string): Promise<DynamicRole | undefined> {
    const item = await this.get(rolesPk(tenantId, engine), name);
    return item ? itemToRole(item) : undefined;
  }

  async listRoles(tenantId: string, engine: string): Promise<DynamicRole[]> {
    return (await this.query(rolesPk(tenantId, engine))).map(itemToRole);
  }

  deleteRole(tenantId: string, engine: string, name: string): Promise<boolean> {
    return this.delete(rolesPk(tenantId, engine), name);
  }

  async reserveLease(tenantId: string, engine: string, role: string, maxLeases: number): Promise<boolean> {
    try {
      await this.update(
        rolesPk(tenantId, engine),
        role,
        'ADD activeLeases :one',
        { ':one': 1, ':max': maxLeases },
        'attribute_exists(pk) AND activeLeases < :max',
      );
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  async releaseLease(tenantId: string, engine: string, role: string): Promise<void> {
    // Never below zero; a role deleted meanwhile has nothing to give back to.
    await this.update(rolesPk(tenantId, engine), role, 'ADD activeLeases :minus', { ':minus': -1, ':zero': 0 }, 'activeLeases > :zero').catch(ignoreConflict);
  }

  async putLease(lease: Lease): Promise<void> {
    if (!(await conditionalPut(this.client, this.tableName, leaseItem(lease), 'attribute_not_exists(pk)')))
      throw new ConflictError(`lease ${lease.leaseId} exists`);
  }

  async getLease(tenantId: string, leaseId: string): Promise<Lease | undefined> {
    const item = await this.get(leasesPk(tenantId), leaseId);
    return item ? itemToLease(item) : undefined;
  }

  async listLeases(tenantId: string, prefix: string, limit: number, cursor: string | undefined): Promise<Page<Lease>> {
    const pk = leasesPk(tenantId);
    const result = await dynamoCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: marshall({ ':pk': pk, ':prefix': prefix }),
          Limit: limit,
          ConsistentRead: true,
          ExclusiveStartKey: cursor === undefined ? undefined : marshall({ pk, sk: decodeSortKeyCursor(cursor, (sk) => sk.startsWith(prefix)) }),
        }),
      ),
    );
    const last = result.LastEvaluatedKey ? (unmarshall(result.LastEvaluatedKey).sk as string) : undefined;
    return { items: (result.Items ?? []).map((item) => itemToLease(unmarshall(item))), nextCursor: last && encodeSortKeyCursor(last) };
  }

  replaceLease(lease: Lease, expectedNextAttemptAt: string): Promise<boolean> {
    return conditionalPut(this.client, this.tableName, leaseItem(lease), 'attribute_exists(pk) AND nextAttemptAt = :expected', {
      ':expected': expectedNextAttemptAt,
    });
  }

  deleteLease(tenantId: string, leaseId: string): Promise<boolean> {
    return this.delete(leasesPk(tenantId), leaseId);
  }

  async dueLeases(beforeIso: string, limit: number): Promise<Lease[]> {
    return (await gsi1Before(this.client, { TableName: this.tableName, Limit: limit }, DUE_INDEX, beforeIso)).map(itemToLease);
  }

  /** The oldest lease of a role still to be revoked (irrevocable ones aside): its issue time, or undefined. */
  async oldestLeaseIssuedAt(tenantId: string, engine: string, role: string): Promise<string | undefined> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamoCall(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            FilterExpression: '#state <> :irrevocable',
            ProjectionExpression: 'issuedAt',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: marshall({ ':pk': leasesPk(tenantId), ':prefix': `dynamic/${engine}/creds/${role}/`, ':irrevocable': 'irrevocable' }),
            Limit: 25,
            ExclusiveStartKey: start,
          }),
        ),
      );
      const first = page.Items?.[0];
      if (first) return unmarshall(first).issuedAt as string;
      start = page.LastEvaluatedKey;
    } while (start);
    return undefined;
  }

  private async get(pk: string, sk: string): Promise<Item | undefined> {
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk, sk }), ConsistentRead: true })));
    return result.Item ? unmarshall(result.Item) : undefined;
  }

  private async query(pk: string): Promise<Item[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': pk }),
      ConsistentRead: true,
    });
    return items;
  }

  private async delete(pk: string, sk: string): Promise<boolean> {
    const result = await dynamoCall(() =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: marshall({ pk, sk }), ReturnValues: 'ALL_OLD' })),
    );
    return result.Attributes !== undefined;
  }

  private async update(pk: string, sk: string, expression: string, values: Item, condition = 'attribute_exists(pk)'): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk, sk }),
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeValues: marshall(values),
        }),
      ),
    );
  }
}

const ignoreConflict = (error: unknown): void => {
  if (!(error instanceof ConflictError)) throw error;
};
