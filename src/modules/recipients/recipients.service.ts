import type { Database } from '../../db/client.js';
import type { Pageable } from '../../domain/paging.js';
import { notFound, Problems } from '../../domain/refusal.js';
import { fromGlobalId, uuidv7 } from '../../lib/ids.js';
import { isTimeZone, TIME_ZONE_RULE } from '../../lib/time-zone.js';
import { normalizePhone } from '../gateways/credentials.js';
import type { CreateRecipientInput, RecipientFilter, UpdateRecipientInput } from './recipients.types.js';
import * as q from './recipients.queries.js';

type ContactInput = Pick<CreateRecipientInput, 'phone' | 'email' | 'whatsapp' | 'twitterHandle'>;

/**
 * Normalized contact fields: phones as E.164, handles without "@", e-mails trimmed.
 * `undefined` stays undefined (unchanged on update), `null` clears.
 */
function normalizeContacts(input: ContactInput, problems: Problems): Partial<q.NewRecipientRow> {
  const out: Partial<q.NewRecipientRow> = {};
  for (const field of ['phone', 'whatsapp'] as const) {
    const value = input[field];
    if (value === undefined) continue;
    if (value === null) {
      out[field] = null;
      continue;
    }
    const e164 = normalizePhone(value);
    if (e164) out[field] = e164;
    else problems.add(['input', field], `${field} must be a valid phone number with its country code, e.g. +14155550123`);
  }
  if (input.email !== undefined) out.email = input.email === null ? null : input.email.trim();
  if (input.twitterHandle !== undefined) {
    out.twitterHandle = input.twitterHandle === null ? null : input.twitterHandle.replace(/^@/, '');
    // The cached X user id belonged to the old handle.
    out.twitterUserId = null;
  }
  return out;
}

/** The recipient's zone: undefined unchanged, null cleared, else an IANA zone (a problem otherwise). */
function checkTimeZone(timeZone: string | null | undefined, problems: Problems): Partial<q.NewRecipientRow> {
  if (timeZone === undefined) return {};
  if (timeZone !== null && !isTimeZone(timeZone)) {
    problems.add(['input', 'timeZone'], `timeZone must be ${TIME_ZONE_RULE}`);
    return {};
  }
  return { timeZone };
}

export class RecipientsService {
  constructor(private readonly db: Database) {}

  async create(tenantId: string, input: CreateRecipientInput): Promise<q.RecipientRow> {
    const problems = new Problems();
    const contacts = normalizeContacts(input, problems);
    const zone = checkTimeZone(input.timeZone, problems);
    problems.throwIfAny();
    return q.insertRecipient(this.db, {
      id: uuidv7(),
      tenantId,
      kind: input.kind,
      externalRef: input.externalRef?.trim() ?? null,
      displayName: input.displayName.trim(),
      ...contacts,
      ...zone,
    });
  }

  async update(tenantId: string, input: UpdateRecipientInput): Promise<q.RecipientRow> {
    const ref = fromGlobalId(input.id, 'Recipient');
    if (!ref) throw notFound(['input', 'id'], `no recipient ${input.id}`);
    const problems = new Problems();
    const set = { ...normalizeContacts(input, problems), ...checkTimeZone(input.timeZone, problems) };
    problems.throwIfAny();
    if (input.displayName) set.displayName = input.displayName.trim();
    const row = await q.updateRecipient(this.db, tenantId, ref.uuid, set);
    if (!row) throw notFound(['input', 'id'], `no recipient ${input.id}`);
    return row;
  }

  async get(tenantId: string, id: string): Promise<q.RecipientRow | undefined> {
    const ref = fromGlobalId(id, 'Recipient');
    return ref ? q.findRecipient(this.db, tenantId, ref.uuid) : undefined;
  }

  page(tenantId: string, filter: RecipientFilter | null | undefined): Pageable<q.RecipientRow> {
    const query: q.RecipientQuery = { kind: filter?.kind ?? undefined, externalRef: filter?.externalRef ?? undefined };
    return {
      rows: (page) => q.pageRecipients(this.db, tenantId, query, page),
      count: (atMost) => q.countRecipients(this.db, tenantId, query, atMost),
    };
  }
}
