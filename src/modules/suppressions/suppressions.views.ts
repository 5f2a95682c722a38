// The GraphQL view of a suppression: the destination masked as messages' are.
import { ERASED } from '../../domain/erasure.js';
import { toGlobalId } from '../../lib/ids.js';
import { maskDestination } from '../../lib/mask.js';
import type * as q from './suppressions.queries.js';
import type { Suppression } from './suppressions.types.js';

export function toSuppressionView(row: q.SuppressionRow): Suppression & { __typename: 'Suppression' } {
  return {
    __typename: 'Suppression',
    id: toGlobalId('Suppression', row.id),
    channel: row.channel,
    destination: maskDestination(row.channel, row.destination ?? ERASED),
    recipientDbId: row.recipientId,
    source: row.source,
    categories: row.categories,
    reason: row.reason,
    createdAt: row.createdAt,
  };
}
