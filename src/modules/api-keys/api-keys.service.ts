// API keys: random, stored as a hash, shown once. Lookups are cached briefly so a warm
// process authenticates without a database round trip.
import type { Database, Executor } from '../../db/client.js';
import type { ApiKeyRoleValue } from '../../db/schema/index.js';
import type { AuthInfo } from '../../graphql/context.js';
import { generateApiKey, hashApiKey } from '../../lib/api-key.js';
import { uuidv7 } from '../../lib/ids.js';
import * as q from './api-keys.queries.js';

const HIT_TTL_MS = 30_000;
// Unknown keys are remembered too, briefly, so a flood of bad keys cannot become a flood of queries.
const MISS_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

export class ApiKeysService {
  private readonly cache = new Map<string, { auth: AuthInfo | null; expires: number }>();

  constructor(private readonly db: Database) {}

  async authenticate(key: string): Promise<AuthInfo | null> {
    const hash = hashApiKey(key);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expires > now) return cached.auth;
    const row = await q.findActiveKey(this.db, hash);
    const auth: AuthInfo | null = row
      ? { apiKeyId: row.id, tenantId: row.tenantId, role: row.role, isOperator: row.isDefaultTenant && row.role === 'ADMIN' }
      : null;
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(hash, { auth, expires: now + (auth ? HIT_TTL_MS : MISS_TTL_MS) });
    return auth;
  }

  /** Creates a key and returns its secret, the only time it exists outside the caller. */
  async create(ex: Executor, tenantId: string, name: string, role: ApiKeyRoleValue, secret = generateApiKey()): Promise<string> {
    const keyHash = hashApiKey(secret);
    await q.insertApiKey(ex, { id: uuidv7(), tenantId, name: name.trim(), role, keyHash });
    this.cache.delete(keyHash);
    return secret;
  }
}
