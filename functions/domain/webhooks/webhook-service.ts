import { randomBytes } from 'node:crypto';
import type { AuthService } from '../auth/auth-service.js';
import type { Principal } from '../auth/principal.js';
import type { KeyManager } from '../crypto/key-manager.js';
import { EVENT_TYPES, type EventType } from '../events/events.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { newSigningSecret } from './webhook-signing.js';
import {
  PREVIOUS_SECRET_GRACE_MS,
  WEBHOOK_ID_PATTERN,
  signingSecretContext,
  type DeliveryAttempt,
  type SealedSigningSecret,
  type WebhookSubscription,
} from './webhooks.js';
import type { Page } from '../ports/secrets.js';
import type { EgressCheck, WebhookRepository } from '../ports/webhooks.js';

export const MAX_WEBHOOKS_PER_TENANT = 50;
const MAX_URL_LENGTH = 2048;
const MAX_DESCRIPTION_LENGTH = 500;

export interface NewWebhook {
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly description?: string;
}

/** A subscription as the API shows it: no tenant, no sealed secrets. */
export interface WebhookSummary
  extends Pick<WebhookSubscription, 'webhookId' | 'url' | 'eventTypes' | 'description' | 'createdAt' | 'createdBy' | 'secretVersion'> {
  /** While a rotated-out secret still signs deliveries, when it stops. */
  readonly previousSecretExpiresAt: string | null;
}

/** A summary plus the signing secret, which is shown this once and never again. */
export interface WebhookWithSecret {
  readonly webhook: WebhookSummary;
  readonly secret: string;
}

/** The admin capability on `sys` governs a tenant's webhooks, as it does tenants and policies. */
const ADMIN_PATH = 'sys';

export const validateWebhookUrl = (raw: string): string => {
  if (raw.length > MAX_URL_LENGTH) throw new ValidationError(`url must be at most ${MAX_URL_LENGTH} characters`, 'url');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError('url must be an absolute http:// or https:// URL', 'url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationError('url must use https:// or http://', 'url');
  if (!url.hostname) throw new ValidationError('url must name a host', 'url');
  // fetch refuses URLs with credentials; receivers authenticate deliveries by signature.
  if (url.username || url.password) throw new ValidationError('url must not contain credentials', 'url');
  return url.toString();
};

export const validateEventTypes = (raw: readonly string[]): EventType[] => {
  if (raw.length === 0) throw new ValidationError('event_types must name at least one event type', 'event_types');
  const unknown = raw.filter((type) => !(EVENT_TYPES as readonly string[]).includes(type));
  if (unknown.length > 0) {
    throw new ValidationError(`event_types must be among ${EVENT_TYPES.join(', ')}; unknown: ${unknown.slice(0, 5).join(', ')}`, 'event_types');
  }
  return [...new Set(raw)] as EventType[];
};

const summarize = (subscription: WebhookSubscription, now: number): WebhookSummary => ({
  webhookId: subscription.webhookId,
  url: subscription.url,
  eventTypes: subscription.eventTypes,
  description: subscription.description,
  createdAt: subscription.createdAt,
  createdBy: subscription.createdBy,
  secretVersion: subscription.secretVersion,
  previousSecretExpiresAt: subscription.secrets.find((secret) => secret.expiresAt !== null && Date.parse(secret.expiresAt) > now)?.expiresAt ?? null,
});

export interface WebhookServiceOptions {
  readonly now?: () => number;
  readonly newId?: () => string;
  /** Told when this instance creates or deletes one of a tenant's subscriptions (the fan-out's cache forgets the tenant). */
  readonly onSubscriptionsChanged?: (tenantId: string) => void;
}

/** Webhook subscription use cases; every method authorizes first and acts on the caller's tenant. */
export class WebhookService {
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly onSubscriptionsChanged: (tenantId: string) => void;

  constructor(
    private readonly repository: WebhookRepository,
    private readonly keys: KeyManager,
    private readonly auth: AuthService,
    private readonly egress: EgressCheck,
    options: WebhookServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? (() => `wh_${randomBytes(12).toString('hex')}`);
    this.onSubscriptionsChanged = options.onSubscriptionsChanged ?? (() => undefined);
  }

  async create(principal: Principal, input: NewWebhook): Promise<WebhookWithSecret> {
    await this.auth.require(principal, 'admin', ADMIN_PATH);
    const url = await this.reachableUrl(input.url);
    const eventTypes = validateEventTypes(input.eventTypes);
    const description = input.description ?? '';
    if (description.length > MAX_DESCRIPTION_LENGTH) {
      throw new ValidationError(`description must be at most ${MAX_DESCRIPTION_LENGTH} characters`, 'description');
    }
    const tenantId = principal.tenantId;
    if ((await this.repository.list(tenantId)).length >= MAX_WEBHOOKS_PER_TENANT) {
      throw new ConflictError(`a tenant may have at most ${MAX_WEBHOOKS_PER_TENANT} webhooks`);
    }
    const webhookId = this.newId();
    const createdAt = new Date(this.now()).toISOString();
    const secret = newSigningSecret();
    const subscription: WebhookSubscription = {
      tenantId,
      webhookId,
      url,
      eventTypes,
      description,
      createdAt,
      createdBy: principal.identityId,
      secretVersion: 1,
      secrets: [await this.sealSecret(tenantId, webhookId, 1, secret, createdAt)],
    };
    await this.repository.create(subscription);
    this.onSubscriptionsChanged(tenantId);
    return { webhook: summarize(subscription, this.now()), secret };
  }

  async list(principal: Principal): Promise<WebhookSummary[]> {
    await this.auth.require(principal, 'admin', ADMIN_PATH);
    const now = this.now();
    return (await this.repository.list(principal.tenantId)).map((subscription) => summarize(subscription, now));
  }

  async get(principal: Principal, webhookId: string): Promise<WebhookSummary> {
    await this.auth.require(principal, 'admin', ADMIN_PATH);
    return summarize(await this.find(principal.tenantId, webhookId), this.now());
  }

  async delete(principal: Principal, webhookId: string): Promise<void> {
    await this.auth.require(principal, 'admin', ADMIN_PATH);
    if (!WEBHOOK_ID_PATTERN.test(webhookId) || !(await this.repository.delete(principal.tenantId, webhookId))) {
      throw new NotFoundError(`webhook ${webhookId} does not exist`);
    }
    this.onSubscriptionsChanged(principal.tenantId);
  }

  /**
   * Issues a new signing secret. The previous one keeps signing (beside the
   * new one) for 24 hours, so receivers can switch over without losing a delivery.
   */
  async rotateSecret(principal: Principal, webhookId: string): Promise<WebhookWithSecret> {
    await this.auth.require(principal, 'admin', ADMIN_PATH);
    const current = await this.find(principal.tenantId, webhookId);
    const nowMs = this.now();
    const now = new Date(nowMs).toISOString();
    const version = current.secretVersion + 1;
    const secret = newSigningSecret();
    const previous = current.secrets.find((s) => s.version === current.secretVersion);
    const secrets: SealedSigningSecret[] = [await this.sealSecret(current.tenantId, webhookId, version, secret, now)];
    if (previous) secrets.push({ ...previous, expiresAt: new Date(nowMs + PREVIOUS_SECRET_GRACE_MS).toISOString() });
    await this.repository.replaceSecrets(current.tenantId, webhookId, current.secretVersion, secrets);
    return { webhook: summarize({ ...current, secretVersion: version, secrets }, nowMs), secret };
  }

  async deliveries(principal: Principal, webhookId: string, limit: number, cursor: string | undefined): Promise<Page<DeliveryAttempt>> {
    await this.auth.require(principal, 'admin', ADMIN_PATH);
    await this.find(principal.tenantId, webhookId);
    return this.repository.listAttempts(principal.tenantId, webhookId, limit, cursor);
  }

  private async find(tenantId: string, webhookId: string): Promise<WebhookSubscription> {
    const subscription = WEBHOOK_ID_PATTERN.test(webhookId) ? await this.repository.get(tenantId, webhookId) : undefined;
    if (!subscription) throw new NotFoundError(`webhook ${webhookId} does not exist`);
    return subscription;
  }

  /** A valid URL whose host the egress policy lets deliveries reach (delivery checks again). */
  private async reachableUrl(raw: string): Promise<string> {
    const url = validateWebhookUrl(raw);
    const refusal = await this.egress.refusal(new URL(url).hostname);
    if (refusal) throw new ValidationError(`url must not point at a private, loopback or metadata address (${refusal})`, 'url');
    return url;
  }

  private async sealSecret(tenantId: string, webhookId: string, version: number, secret: string, createdAt: string): Promise<SealedSigningSecret> {
    const keyId = await this.auth.activeKeyId(tenantId);
    const sealed = await this.keys.seal(keyId, secret, signingSecretContext(tenantId, webhookId, version));
    return { version, sealed, createdAt, expiresAt: null };
  }
}
