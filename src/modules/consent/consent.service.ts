// Consent: what a tenant has decided about messaging its recipients: the zone of those
// without one, the HELP reply, what STOP and unsubscribe suppress, and quiet hours per
// channel. The sends apply quiet hours (quiet-hours.ts) at accept through `quietHours`.
//
// Sends read the tenant's quiet hours and default zone from a cache (a database read per
// send would cost as much as the rest of the accept): a trigger announces every change of
// them on NOTIFY (drizzle/0019_consent_settings.sql), and every process drops what it
// cached of that tenant when it hears it. While this process cannot hear (its LISTEN
// connection is down), a cached entry is trusted for a second only, as templates are.
import { LRUCache } from 'lru-cache';
import type { Database } from '../../db/client.js';
import type { QuietHoursData } from '../../db/schema/index.js';
import { type Channel, MessageCategory } from '../../domain/enums.js';
import { MAX_HELP_REPLY_LENGTH } from '../../domain/limits.js';
import { Problems } from '../../domain/refusal.js';
import { checkCategories } from '../../domain/categories.js';
import { isTimeZone, TIME_ZONE_RULE } from '../../lib/time-zone.js';
import type { DatabaseListener } from '../../realtime/listener.js';
import * as tenantsQ from '../tenants/tenants.queries.js';
import * as q from './consent.queries.js';
import { CLOCK_TIME, heldUntil } from './quiet-hours.js';

/** The NOTIFY channel of changes to what sends read of a tenant; the payload is the tenant's uuid. */
export const SEND_RULES_CHANGED_CHANNEL = 'herald_tenant_send_rules_changed';
const CACHE_TTL_MS = 30_000;
const UNWATCHED_TTL_MS = 1_000;
const CACHE_MAX = 10_000;

/** Categories quiet hours hold when setQuietHours names none. */
export const DEFAULT_QUIET_CATEGORIES: readonly MessageCategory[] = [MessageCategory.MARKETING];

export interface ConsentSettingsRequest {
  /** null or omitted: unchanged. */
  defaultTimeZone?: string | null;
  /** null: removed; omitted: unchanged. */
  helpReply?: string | null;
  stopSuppresses?: readonly MessageCategory[] | null;
  unsubscribeSuppresses?: readonly MessageCategory[] | null;
}

export interface QuietHoursRequest {
  channel: Channel;
  /** Both null: no quiet hours on the channel. */
  start?: string | null;
  end?: string | null;
  categories?: readonly MessageCategory[] | null;
}

/** What quiet hours read of a message being accepted. */
export interface Accepting {
  channel: Channel;
  category: MessageCategory;
  urgent?: boolean | null;
  /** The recipient's own zone; null: the tenant's default. */
  timeZone: string | null;
  /** When it was asked to go; null: now. */
  sendAt: Date | null;
}

/** When a message accepted at `now` must wait until (its channel's quiet hours end), or null to go when asked. */
export type QuietHoursCheck = (message: Accepting, now: Date) => Date | null;

type SendRules = Pick<tenantsQ.TenantRow, 'defaultTimeZone' | 'quietHours'>;

export class ConsentService {
  // By tenant uuid.
  private readonly cache = new LRUCache<string, { rules: SendRules; at: number }>({ max: CACHE_MAX, ttl: CACHE_TTL_MS });
  // Reads under way, by tenant uuid: the items of one sendNotifications call share one.
  private readonly reading = new Map<string, Promise<SendRules>>();
  // Bumped by every change heard: a read that started before one is not cached.
  private changes = 0;
  private listener?: Pick<DatabaseListener, 'isUp'>;

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  /** Hears every process's changes of tenants' quiet hours and zones on this process's LISTEN connection. */
  follow(listener: DatabaseListener): void {
    this.listener = listener;
    listener.on(SEND_RULES_CHANGED_CHANNEL, (tenantId) => this.forget(tenantId));
    // Whatever changed while the connection was down was announced to no one here.
    listener.onReconnect(() => {
      this.changes++;
      this.cache.clear();
      this.reading.clear();
    });
  }

  private forget(tenantId: string): void {
    this.changes++;
    this.cache.delete(tenantId);
    this.reading.delete(tenantId);
  }

  /** Sets the fields given, each checked (every problem at once), and answers with the tenant. */
  async updateSettings(tenantId: string, input: ConsentSettingsRequest): Promise<tenantsQ.TenantRow> {
    const problems = new Problems();
    const set: q.ConsentSettings = {};
    if (input.defaultTimeZone !== undefined && input.defaultTimeZone !== null) {
      if (isTimeZone(input.defaultTimeZone)) set.defaultTimeZone = input.defaultTimeZone;
      else problems.add(['input', 'defaultTimeZone'], `defaultTimeZone must be ${TIME_ZONE_RULE}`);
    }
    if (input.helpReply === null) set.helpReply = null;
    else if (input.helpReply !== undefined) {
      const reply = input.helpReply.trim();
      if (!reply) problems.add(['input', 'helpReply'], 'helpReply must not be blank; give null to remove it');
      else if (reply.length > MAX_HELP_REPLY_LENGTH) {
        problems.add(['input', 'helpReply'], `helpReply must be at most ${MAX_HELP_REPLY_LENGTH.toLocaleString('en-US')} characters`);
      } else set.helpReply = reply;
    }
    for (const [field, what] of [
      ['stopSuppresses', 'an inbound STOP'],
      ['unsubscribeSuppresses', 'an unsubscribe'],
    ] as const) {
      const list = input[field];
      if (list === undefined || list === null) continue;
      const categories = checkCategories(list, ['input', field], problems);
      if (categories && !categories.includes(MessageCategory.MARKETING)) {
        problems.add(['input', field], `${field} must include MARKETING: ${what} always stops marketing`);
      } else if (categories) set[field] = categories;
    }
    problems.throwIfAny();
    const row = Object.keys(set).length
      ? await q.updateConsentSettings(this.db, tenantId, set)
      : await tenantsQ.findTenant(this.db, tenantId);
    if (!row) throw new Error(`tenant ${tenantId} does not exist`);
    this.forget(tenantId);
    return row;
  }

  /** Sets (or with neither start nor end, removes) the channel's quiet hours, and answers with the tenant. */
  async setQuietHours(tenantId: string, input: QuietHoursRequest): Promise<tenantsQ.TenantRow> {
    const problems = new Problems();
    let window: QuietHoursData | null = null;
    const { start, end } = input;
    if ((start === undefined || start === null) && (end === undefined || end === null)) {
      if (input.categories !== undefined && input.categories !== null) {
        problems.add(
          ['input', 'categories'],
          'categories belong to a window: give start and end with them, or neither to remove the window',
        );
      }
    } else {
      for (const [field, value] of [
        ['start', start],
        ['end', end],
      ] as const) {
        if (value === undefined || value === null) {
          problems.add(['input', field], `give ${field} too (HH:MM), or neither start nor end to remove the window`);
        } else if (!CLOCK_TIME.test(value)) problems.add(['input', field], `${field} must be a 24-hour time written HH:MM, such as 21:00`);
      }
      if (start && start === end) {
        problems.add(['input', 'end'], 'end must differ from start: a window needs a length (give neither to remove it)');
      }
      const categories = checkCategories(input.categories ?? DEFAULT_QUIET_CATEGORIES, ['input', 'categories'], problems);
      if (start && end && categories) window = { channel: input.channel, start, end, categories };
    }
    problems.throwIfAny();
    const row = await q.setQuietHours(this.db, tenantId, input.channel, window);
    if (!row) throw new Error(`tenant ${tenantId} does not exist`);
    this.forget(tenantId);
    return row;
  }

  /**
   * The tenant's quiet hours as a check of one message: a message of a category its
   * channel's window holds, not urgent, that would go (its sendAt, else now) inside the
   * window in the recipient's zone (else the tenant's) waits until the window ends.
   */
  async quietHours(tenantId: string): Promise<QuietHoursCheck> {
    const rules = await this.rulesOf(tenantId);
    return (message, now) =>
      heldUntil(rules.quietHours, {
        channel: message.channel,
        category: message.category,
        urgent: message.urgent,
        timeZone: message.timeZone ?? rules.defaultTimeZone,
        at: message.sendAt ?? now,
      });
  }

  private rulesOf(tenantId: string): Promise<SendRules> {
    const hit = this.cache.get(tenantId);
    if (hit && (this.listener?.isUp || this.now() - hit.at < UNWATCHED_TTL_MS)) return Promise.resolve(hit.rules);
    let read = this.reading.get(tenantId);
    if (!read) {
      read = this.read(tenantId);
      this.reading.set(tenantId, read);
      const settled = () => {
        if (this.reading.get(tenantId) === read) this.reading.delete(tenantId);
      };
      read.then(settled, settled);
    }
    return read;
  }

  private async read(tenantId: string): Promise<SendRules> {
    const changes = this.changes;
    const rules = await q.findSendRules(this.db, tenantId);
    if (!rules) throw new Error(`tenant ${tenantId} does not exist`);
    if (changes === this.changes) this.cache.set(tenantId, { rules, at: this.now() });
    return rules;
  }
}
