// Data-key rotation: the service the api starts rotations with and the scheduler advances them with.
import { DynamoDbKeyRotationStore } from '../adapters/dynamodb/dynamodb-key-rotation-store.js';
import { sealedItemKinds } from '../adapters/dynamodb/sealed-item-kinds.js';
import type { AuditRecorder } from '../domain/audit/audit-maintenance.js';
import { KeyRotationService } from '../domain/crypto/key-rotation.js';
import type { Logger } from '../observability/logger.js';
import type { VaultCore } from './vault-core.js';

/** Lost conditional writes on one item before it is left to the rotation's next pass. */
const CONFLICT_RETRIES = 5;

export const composeKeyRotation = (core: VaultCore, audit: AuditRecorder, logger: Logger): KeyRotationService => {
  const { config, dynamodb, keys, auth, authRepository, events } = core;
  return new KeyRotationService({
    store: new DynamoDbKeyRotationStore(dynamodb, config.stateTable),
    kinds: sealedItemKinds(dynamodb, config.stateTable),
    keys,
    tenants: { listTenantIds: () => authRepository.listTenantIds(), activeKeyId: (tenantId) => auth.activeKeyId(tenantId) },
    audit,
    events,
    logger,
    options: {
      batchSize: config.keyRotation.batchSize,
      concurrency: config.keyRotation.concurrency,
      conflictRetries: CONFLICT_RETRIES,
      rotationDays: config.keyRotation.rotationDays,
    },
  });
};
