import type { SealContext } from '../../../functions/domain/crypto/envelope.js';
import type {
  DataKeyRecord,
  DataKeyState,
  KeyRotation,
  KeyRotationStore,
  SealedItem,
  SealedItemKind,
  SealedItemPage,
} from '../../../functions/domain/ports/keys.js';
import type { SealedValue } from '../../../functions/domain/ports/secrets.js';
import type { InMemoryAuthRepository } from './in-memory-auth-repository.js';

/** The rotation store in memory, over the auth repository's tenants and data keys, with the DynamoDB adapter's check-and-set. */
export class InMemoryKeyRotationStore implements KeyRotationStore {
  readonly rotations = new Map<string, KeyRotation>();
  saves = 0;

  constructor(private readonly auth: InMemoryAuthRepository) {}

  async get(tenantId: string): Promise<KeyRotation | undefined> {
    return this.rotations.get(tenantId);
  }

  async list(): Promise<KeyRotation[]> {
    return [...this.rotations.values()];
  }

  async save(rotation: KeyRotation, expectedRevision: number | undefined): Promise<boolean> {
    const stored = this.rotations.get(rotation.tenantId);
    if ((stored === undefined) !== (expectedRevision === undefined) || (stored && stored.revision !== expectedRevision)) return false;
    this.rotations.set(rotation.tenantId, rotation);
    this.saves += 1;
    return true;
  }

  async listDataKeys(tenantId: string): Promise<DataKeyRecord[]> {
    return [...this.auth.dataKeys.values()].filter((key) => key.tenantId === tenantId);
  }

  async setDataKeyState(tenantId: string, keyId: string, state: DataKeyState, at: string): Promise<void> {
    const key = this.auth.dataKeys.get(`${tenantId}/${keyId}`);
    if (key) this.auth.dataKeys.set(`${tenantId}/${keyId}`, { ...key, state, ...(state === 'retired' ? { retiredAt: at } : {}) });
  }

  async setActiveKey(tenantId: string, keyId: string, expectedKeyId: string): Promise<boolean> {
    const tenant = this.auth.tenants.get(tenantId);
    if (!tenant || tenant.activeKeyId !== expectedKeyId) return false;
    this.auth.tenants.set(tenantId, { ...tenant, activeKeyId: keyId });
    return true;
  }
}

/**
 * A sealed-item kind in memory: items by id in insertion order, paged by index.
 * `beforeReplace` runs just before a conditional write (a concurrent writer's moment);
 * `failOnRead` makes a read throw (a crash, a provider outage).
 */
export class InMemorySealedKind implements SealedItemKind {
  readonly items = new Map<string, SealedItem>();
  beforeReplace: ((current: SealedItem) => Promise<void>) | undefined;
  failOnRead: ((id: string) => boolean) | undefined;
  replaced = 0;
  conflicts = 0;

  constructor(readonly name: string) {}

  put(id: string, sealed: SealedValue, context: SealContext): void {
    this.items.set(id, { id, sealed, context });
  }

  async list(_tenantId: string, cursor: string | undefined, limit: number): Promise<SealedItemPage> {
    const all = [...this.items.values()];
    const start = cursor === undefined ? 0 : Number(cursor);
    const page = all.slice(start, start + limit).map((item) => ({ id: item.id, keyId: item.sealed.keyId }));
    return { items: page, nextCursor: start + limit < all.length ? String(start + limit) : undefined };
  }

  async read(_tenantId: string, id: string): Promise<SealedItem | undefined> {
    if (this.failOnRead?.(id)) throw Object.assign(new Error('provider down'), { name: 'DependencyUnavailableError' });
    return this.items.get(id);
  }

  async replace(_tenantId: string, current: SealedItem, next: SealedValue): Promise<boolean> {
    await this.beforeReplace?.(current);
    const stored = this.items.get(current.id);
    if (!stored || stored.sealed.keyId !== current.sealed.keyId || !Buffer.from(stored.sealed.iv).equals(Buffer.from(current.sealed.iv))) {
      this.conflicts += 1;
      return false;
    }
    this.items.set(current.id, { ...stored, sealed: next });
    this.replaced += 1;
    return true;
  }
}
