// Event-webhook endpoints: where a tenant wants its message events posted, and the
// secrets deliveries are signed with (Standard Webhooks: `whsec_` and base64 of random
// bytes). A secret is shown once, when made, and kept sealed for its row; after a rotation
// the previous one keeps signing beside the new one for a day, so a receiver can switch
// without dropping events.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import type { WebhookEventType } from '../../domain/enums.js';
import { Problems, refuse, UserErrorCode } from '../../domain/refusal.js';
import { fromGlobalId, timeOfUuidv7, uuidv7 } from '../../lib/ids.js';
import type { ResealCounts, SecretBox } from '../../lib/secret-box.js';
import * as q from './webhook-endpoints.queries.js';
import { checkEndpointUrl, type UrlPolicy } from './url-policy.js';

export const MAX_ENDPOINTS_PER_TENANT = 20;
export const DESCRIPTION_MAX = 500;
/** How long a rotated-out secret still signs. */
export const PREVIOUS_SECRET_TTL_MS = 24 * 60 * 60 * 1_000;

export interface CreateEndpointRequest {
  url: string;
  eventTypes: WebhookEventType[];
  description?: string | null;
}

export interface UpdateEndpointRequest {
  id: string;
  url?: string | null;
  eventTypes?: WebhookEventType[] | null;
  description?: string | null;
  enabled?: boolean | null;
}

/** An endpoint with its signing secret in the clear: the one time the caller sees it. */
export interface EndpointWithSecret {
  endpoint: q.EndpointRow;
  secret: string;
}

/** A new signing secret in the Standard Webhooks format. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export class WebhookEndpointsService {
  constructor(
    private readonly db: Database,
    private readonly secrets: SecretBox,
    private readonly policy: UrlPolicy,
  ) {}

  list(tenantId: string): Promise<q.EndpointRow[]> {
    return q.listEndpoints(this.db, tenantId);
  }

  /** The tenant's endpoint by its API id; undefined for another tenant's or a malformed id. */
  async get(tenantId: string, id: string): Promise<q.EndpointRow | undefined> {
    const ref = fromGlobalId(id, 'WebhookEndpoint');
    return ref ? q.findEndpoint(this.db, tenantId, ref.uuid) : undefined;
  }

  async create(tenantId: string, input: CreateEndpointRequest, now = new Date()): Promise<EndpointWithSecret> {
    const problems = new Problems();
    const url = this.checkUrl(input.url, problems);
    const eventTypes = checkEventTypes(input.eventTypes, problems);
    const description = checkDescription(input.description, problems);
    problems.throwIfAny();
    const id = uuidv7();
    const secret = newSigningSecret();
    const endpoint = await this.db.transaction(async (tx) => {
      await q.lockTenantEndpoints(tx, tenantId);
      if ((await q.countEndpoints(tx, tenantId)) >= MAX_ENDPOINTS_PER_TENANT) {
        throw refuse(
          UserErrorCode.INVALID_STATE,
          `a tenant has at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints: delete one, or subscribe an existing one to more event types`,
        );
      }
      return q.insertEndpoint(tx, {
        id,
        tenantId,
        url: url!,
        description,
        eventTypes,
        enabled: true,
        secret: this.secrets.seal(secret, id),
        createdAt: timeOfUuidv7(id),
        updatedAt: now,
      });
    });
    return { endpoint, secret };
  }

  /** Changes the fields given; enabling clears the reason Herald disabled it for. */
  async update(tenantId: string, input: UpdateEndpointRequest, now = new Date()): Promise<q.EndpointRow> {
    const uuid = this.uuidOf(input.id);
    const problems = new Problems();
    const set: q.EndpointChange = {};
    if (input.url !== undefined && input.url !== null) set.url = this.checkUrl(input.url, problems);
    if (input.eventTypes !== undefined && input.eventTypes !== null) set.eventTypes = checkEventTypes(input.eventTypes, problems);
    if (input.description !== undefined && input.description !== null) set.description = checkDescription(input.description, problems);
    if (input.enabled !== undefined && input.enabled !== null) {
      set.enabled = input.enabled;
      // Disabled by a user: no reason of Herald's to show. Enabled: the old reason is over.
      set.disabledReason = null;
    }
    problems.throwIfAny();
    const row = await q.updateEndpoint(this.db, tenantId, uuid, set, now);
    if (!row) throw notFoundEndpoint(input.id);
    return row;
  }

  /** The endpoint's database id, gone. */
  async delete(tenantId: string, id: string): Promise<string> {
    const uuid = this.uuidOf(id);
    if (!(await q.deleteEndpoint(this.db, tenantId, uuid))) throw notFoundEndpoint(id);
    return uuid;
  }

  /**
   * A new secret; the current one becomes the previous, signing too until now + 24 h. A
   * current secret that no longer opens (its key dropped, or copied from another row) can
   * sign nothing and is not kept, so rotating is how such an endpoint is mended.
   */
  async rotateSecret(tenantId: string, id: string, now = new Date()): Promise<EndpointWithSecret> {
    const uuid = this.uuidOf(id);
    const current = await q.findEndpoint(this.db, tenantId, uuid);
    if (!current) throw notFoundEndpoint(id);
    const secret = newSigningSecret();
    // A secret rotated out earlier and still in its day is dropped: two secrets at most.
    const endpoint = await q.rotateSecret(
      this.db,
      tenantId,
      uuid,
      {
        current: this.secrets.seal(secret, uuid),
        previousExpiresAt: new Date(now.getTime() + PREVIOUS_SECRET_TTL_MS),
        keepPrevious: this.opens(current.secret, uuid),
      },
      now,
    );
    if (!endpoint) throw notFoundEndpoint(id);
    return { endpoint, secret };
  }

  private opens(sealed: string, owner: string): boolean {
    try {
      this.secrets.open(sealed, owner);
      return true;
    } catch {
      return false;
    }
  }

  /** The secrets a delivery is signed with at `at`: the current one, and the previous during its day. */
  signingSecrets(row: q.EndpointRow, at = new Date()): string[] {
    const secrets = [this.secrets.open(row.secret, row.id)];
    if (row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > at) {
      secrets.push(this.secrets.open(row.previousSecret, row.id));
    }
    return secrets;
  }

  /**
   * Seals every endpoint's secrets (current and previous) again under the current
   * HERALD_SECRET_KEY, as GatewaysService.resealAll does for credentials. A secret that
   * does not open is counted and left as it is (the caller must not drop keys then).
   * A previous secret past its day is left alone.
   */
  async resealAll(log: Logger, now = new Date()): Promise<ResealCounts> {
    const counts: ResealCounts = { resealed: 0, current: 0, unreadable: 0 };
    let after: string | null = null;
    for (;;) {
      const page: q.EndpointRow[] = await q.endpointsAfter(this.db, after, 200);
      if (page.length === 0) return counts;
      for (const row of page) {
        for (const column of ['secret', 'previousSecret'] as const) {
          const sealed = row[column];
          // A previous secret past its day never signs again: nothing to keep readable.
          if (!sealed || (column === 'previousSecret' && !(row.previousSecretExpiresAt! > now))) continue;
          const why = await this.secrets.reseal(
            sealed,
            row.id,
            (next) => q.replaceSealedSecret(this.db, row.id, column, sealed, next),
            counts,
          );
          if (why) {
            log.error(
              { webhookEndpointId: row.id, tenantId: row.tenantId, which: column, why },
              'webhook endpoint secret does not open; left as it is',
            );
          }
        }
      }
      after = page[page.length - 1].id;
    }
  }

  private uuidOf(id: string): string {
    const ref = fromGlobalId(id, 'WebhookEndpoint');
    if (!ref) throw notFoundEndpoint(id);
    return ref.uuid;
  }

  private checkUrl(raw: string, problems: Problems): string | undefined {
    const checked = checkEndpointUrl(raw, this.policy);
    if ('problem' in checked) {
      problems.add(['input', 'url'], checked.problem);
      return undefined;
    }
    return checked.url;
  }
}

const notFoundEndpoint = (id: string) => refuse(UserErrorCode.NOT_FOUND, `no webhook endpoint ${id}`, ['input', 'id']);

function checkEventTypes(eventTypes: readonly WebhookEventType[], problems: Problems): WebhookEventType[] {
  if (eventTypes.length === 0) problems.add(['input', 'eventTypes'], 'give at least one event type');
  return [...new Set(eventTypes)];
}

/** Trimmed; empty is none. */
function checkDescription(description: string | null | undefined, problems: Problems): string | null {
  const trimmed = description?.trim() ?? '';
  if (trimmed.length > DESCRIPTION_MAX) problems.add(['input', 'description'], `description must be at most ${DESCRIPTION_MAX} characters`);
  return trimmed || null;
}
