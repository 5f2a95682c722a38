// API keys: random, stored as a hash, shown once. Lookups are cached so a warm process
// authenticates without a database round trip; a revocation reaches every process's cache
// through NOTIFY on the process's LISTEN connection, and while that connection is down
// cached keys are trusted for a second only.
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Database, Executor } from '../../db/client.js';
import type { ApiKeyRoleValue } from '../../db/schema/index.js';
import type { AuthInfo } from '../../domain/auth.js';
import { notFound, refuse, UserErrorCode } from '../../domain/refusal.js';
import { generateApiKey, hashApiKey } from '../../lib/api-key.js';
import { fromGlobalId, uuidv7 } from '../../lib/ids.js';
import type { DatabaseListener } from '../../realtime/listener.js';
import * as q from './api-keys.queries.js';

/** The NOTIFY channel of revocations; the payload is the key's uuid. */
export const REVOKED_CHANNEL = 'herald_api_key_revoked';

const HIT_TTL_MS = 30_000;
// While revocations cannot be heard (no LISTEN connection), a cached key is trusted this long.
const UNWATCHED_HIT_TTL_MS = 1_000;
// Unknown keys are remembered too, briefly, so a flood of bad keys cannot become a flood of queries.
const MISS_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;
// last_used_at is written at most this often per key and process, never per request.
const LAST_USED_INTERVAL_MS = 60_000;
// revoked_at comes from the database clock, the gap's start from this process's.
const CLOCK_MARGIN_MS = 5_000;

export class ApiKeysService {
  // By key hash. Each entry lives HIT_TTL_MS or MISS_TTL_MS (set with it); a hit older than
  // UNWATCHED_HIT_TTL_MS is not trusted while the listener is down, whatever its TTL left.
  private readonly cache = new LRUCache<string, { auth: AuthInfo | null; at: number }>({
    max: MAX_ENTRIES,
    ttl: HIT_TTL_MS,
    perf: { now: () => this.now() },
  });
  // Keys whose last_used_at this process wrote within LAST_USED_INTERVAL_MS.
  private readonly lastTouched = new LRUCache<string, true>({
    max: MAX_ENTRIES,
    ttl: LAST_USED_INTERVAL_MS,
    perf: { now: () => this.now() },
  });
  private readonly revokedHandlers = new Set<(apiKeyId: string) => void>();
  private listener?: Pick<DatabaseListener, 'isUp'>;
  // Bumped by every revocation heard: a lookup that started before one is not cached.
  private revocations = 0;
  // Revocations heard by this process: a lookup that read a key just before its revocation
  // committed must not let it in (revocation is final, so membership never goes stale).
  private readonly revoked = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Follows every process's revocations on this process's LISTEN connection. */
  follow(listener: DatabaseListener): void {
    this.listener = listener;
    listener.on(REVOKED_CHANNEL, (uuid) => this.forget(uuid));
    listener.onReconnect(async (since) => {
      // Whatever was revoked while the connection was down was announced to no one here.
      this.revocations++;
      this.cache.clear();
      for (const uuid of await q.revokedSince(this.db, new Date(since.getTime() - CLOCK_MARGIN_MS))) this.forget(uuid);
    });
  }

  /** `handler` hears the uuid of each key revoked by any process; returns the unsubscribe. */
  onRevoked(handler: (apiKeyId: string) => void): () => void {
    this.revokedHandlers.add(handler);
    return () => this.revokedHandlers.delete(handler);
  }

  async authenticate(key: string): Promise<AuthInfo | null> {
    const hash = hashApiKey(key);
    const now = this.now();
    const cached = this.cache.get(hash);
    if (cached && (!cached.auth || this.listener?.isUp || now - cached.at < UNWATCHED_HIT_TTL_MS)) {
      if (cached.auth) this.touch(cached.auth.apiKeyId);
      return cached.auth;
    }
    const revocations = this.revocations;
    const row = await q.findActiveKey(this.db, hash);
    const auth: AuthInfo | null =
      row && !this.revoked.has(row.id)
        ? { apiKeyId: row.id, tenantId: row.tenantId, role: row.role, isOperator: row.isDefaultTenant && row.role === 'ADMIN' }
        : null;
    if (revocations === this.revocations) this.cache.set(hash, { auth, at: now }, { ttl: auth ? HIT_TTL_MS : MISS_TTL_MS });
    if (auth) this.touch(auth.apiKeyId);
    return auth;
  }

  /** Creates a key and returns its secret, the only time it exists outside the caller. */
  async create(ex: Executor, tenantId: string, name: string, role: ApiKeyRoleValue, secret = generateApiKey()): Promise<string> {
    const keyHash = hashApiKey(secret);
    await q.insertApiKey(ex, { id: uuidv7(), tenantId, name: name.trim(), role, keyHash });
    this.cache.delete(keyHash);
    return secret;
  }

  /** A new key of the tenant: its secret (shown once) and the key as listed. */
  async issue(tenantId: string, name: string, role: ApiKeyRoleValue): Promise<{ secret: string; key: q.ApiKeyInfo }> {
    const secret = generateApiKey();
    const keyHash = hashApiKey(secret);
    const key = await q.createApiKey(this.db, { id: uuidv7(), tenantId, name: name.trim(), role, keyHash });
    this.cache.delete(keyHash);
    return { secret, key };
  }

  list(tenantId: string, unusedForDays?: number): Promise<q.ApiKeyInfo[]> {
    return q.listApiKeys(this.db, tenantId, unusedForDays);
  }

  /** A key of the tenant by its database id. */
  get(tenantId: string, uuid: string): Promise<q.ApiKeyInfo | undefined> {
    return q.findApiKey(this.db, tenantId, uuid);
  }

  /**
   * Revokes a key of the tenant (the calling one included) and announces it to every
   * process in the same transaction. The tenant's row is locked meanwhile, so two
   * revocations racing for its last two ADMIN keys cannot both pass the count.
   */
  async revoke(tenantId: string, id: string): Promise<q.ApiKeyInfo> {
    const uuid = fromGlobalId(id, 'ApiKey')?.uuid;
    if (!uuid) throw notFound(['input', 'id'], `no API key ${id}`);
    const revoked = await this.db.transaction(async (tx) => {
      await q.lockTenant(tx, tenantId);
      const key = await q.findApiKey(tx, tenantId, uuid);
      if (!key) throw notFound(['input', 'id'], `no API key ${id}`);
      if (key.revokedAt) {
        throw refuse(UserErrorCode.INVALID_STATE, `API key ${id} was already revoked at ${key.revokedAt.toISOString()}`, ['input', 'id']);
      }
      if (key.role === 'ADMIN' && (await q.countLiveAdminKeys(tx, tenantId)) <= 1) {
        throw refuse(
          UserErrorCode.INVALID_STATE,
          `API key ${id} is the last live ADMIN key of its tenant; create another ADMIN key before revoking it`,
          ['input', 'id'],
        );
      }
      const row = await q.markRevoked(tx, uuid);
      await q.notifyRevoked(tx, REVOKED_CHANNEL, uuid);
      return row;
    });
    // This process need not wait for its own notification.
    this.forget(revoked.id);
    return revoked;
  }

  private forget(uuid: string): void {
    this.revocations++;
    if (this.revoked.size >= MAX_ENTRIES) this.revoked.clear();
    this.revoked.add(uuid);
    for (const [hash, entry] of [...this.cache.entries()]) if (entry.auth?.apiKeyId === uuid) this.cache.delete(hash);
    this.lastTouched.delete(uuid);
    for (const handler of this.revokedHandlers) {
      try {
        handler(uuid);
      } catch (err) {
        // The revocation stands whatever a follower does with it.
        this.log.error({ err, apiKeyId: uuid }, 'a follower of API key revocations failed');
      }
    }
  }

  // Off the request's path: a failed write costs a log line, never the request.
  private touch(apiKeyId: string): void {
    if (this.lastTouched.has(apiKeyId)) return;
    this.lastTouched.set(apiKeyId, true);
    q.touchLastUsed(this.db, apiKeyId, LAST_USED_INTERVAL_MS / 2000).catch((err: Error) =>
      this.log.warn({ err: { message: err.message }, apiKeyId }, 'could not record the use of an API key'),
    );
  }
}
