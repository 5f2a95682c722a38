// The GraphQL view of an API key: never its hash.
import { toGlobalId } from '../../lib/ids.js';
import type * as q from './api-keys.queries.js';
import type { ApiKey } from './api-keys.types.js';

export function toApiKeyView(row: q.ApiKeyInfo): ApiKey & { __typename: 'ApiKey' } {
  return {
    __typename: 'ApiKey',
    id: toGlobalId('ApiKey', row.id),
    name: row.name,
    role: row.role,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}
