// The GraphQL view of a recipient row.
import { toGlobalId } from '../../lib/ids.js';
import type * as q from './recipients.queries.js';
import type { Recipient } from './recipients.types.js';

export function toRecipientView(row: q.RecipientRow): Recipient & { __typename: 'Recipient' } {
  return {
    __typename: 'Recipient',
    id: toGlobalId('Recipient', row.id),
    dbId: row.id,
    kind: row.kind,
    externalRef: row.externalRef,
    displayName: row.displayName,
    phone: row.phone,
    email: row.email,
    whatsapp: row.whatsapp,
    twitterHandle: row.twitterHandle,
    timeZone: row.timeZone,
    createdAt: row.createdAt,
  };
}
