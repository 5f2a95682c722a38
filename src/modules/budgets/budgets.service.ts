// Send budgets: how many messages a tenant may queue per minute and per day, and how
// many SMS and WhatsApp messages per day may go outside its home countries (the shape of
// SMS pumping). Every sending service spends here before it writes; the counters live in
// PostgreSQL (budgets.queries.ts), so all API processes share them.
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { LRUCache } from 'lru-cache';
import type { Database } from '../../db/client.js';
import type { ChannelValue } from '../../db/schema/index.js';
import { naturalBatches } from '../../lib/batching.js';
import * as q from './budgets.queries.js';

/** Tenants whose spend batchers are kept. */
const MAX_SPENDERS = 10_000;

export type BudgetName = 'perMinute' | 'perDay' | 'internationalPerDay';

/** A send refused for want of budget; mapped to RATE_LIMITED where errors are formatted. */
export class OverBudget extends Error {
  constructor(
    message: string,
    readonly budget: BudgetName,
    readonly retryAfterSeconds: number,
    readonly resetsAt: Date,
  ) {
    super(message);
    this.name = 'OverBudget';
  }
}

export interface Send {
  channel: ChannelValue;
  destination: string;
}

/** What a spend took, to give back what was not sent (see refund). */
export interface Spent {
  tenantId: string;
  sends: number;
  /** How many of the sends were international. */
  international: number;
  windows: q.SpentWindows;
}

interface Ask {
  count: number;
  countries: readonly string[];
}

export interface BudgetView {
  perMinute: number;
  perDay: number;
  internationalPerDay: number;
  homeCountries: string[];
  usedThisMinute: number;
  usedToday: number;
  internationalUsedToday: number;
  minuteResetsAt: Date | null;
  dayResetsAt: Date | null;
  internationalResetsAt: Date | null;
}

const WINDOWS = {
  perMinute: { seconds: 60, what: 'sends per minute' },
  perDay: { seconds: 86_400, what: 'sends per day' },
  internationalPerDay: { seconds: 86_400, what: 'international SMS and WhatsApp sends per day' },
} as const;

/** What a budget's window holds at `now`: its use and end while it runs, nothing once it ended (or never began). */
function windowAt(
  budget: BudgetName,
  used: number | undefined,
  startedAt: Date | null | undefined,
  now: Date,
): { used: number; resetsAt: Date | null } {
  const endsAt = startedAt ? startedAt.getTime() + WINDOWS[budget].seconds * 1000 : 0;
  return endsAt > now.getTime() ? { used: used ?? 0, resetsAt: new Date(endsAt) } : { used: 0, resetsAt: null };
}

/** The country of an SMS or WhatsApp destination; "??" (never a home country) when unknown. */
export function countryOf(destination: string): string {
  const country = parsePhoneNumberFromString(destination.replace(/^whatsapp:/i, ''))?.country;
  return country ?? '??';
}

export class BudgetsService {
  // Every send of a tenant updates its one row, whose lock then queues them: the spends of a
  // tenant arriving while one is out leave together as one statement (naturalBatches), and
  // a batch the budget cannot cover whole is spent again call by call.
  // Bounded like every per-key cache here: an evicted tenant's batcher finishes what it
  // holds, and its next spend makes a new one.
  private readonly spenders = new LRUCache<string, (ask: Ask) => Promise<Spent>>({ max: MAX_SPENDERS });

  constructor(
    private readonly db: Database,
    private readonly defaults: q.BudgetLimits,
  ) {}

  /**
   * Spends the budget `sends` need, all or nothing, or throws OverBudget saying which budget
   * and when it resets. One statement when there is room; a refusal costs one more read.
   */
  async spend(tenantId: string, sends: readonly Send[]): Promise<Spent | undefined> {
    const countries = sends.flatMap((s) => (s.channel === 'SMS' || s.channel === 'WHATSAPP' ? [countryOf(s.destination)] : []));
    return this.spendCount(tenantId, sends.length, countries);
  }

  /** The same for `count` sends of which `countries` (one per SMS/WhatsApp destination) can be international. */
  async spendCount(tenantId: string, count: number, countries: readonly string[] = []): Promise<Spent | undefined> {
    if (count === 0) return undefined;
    let spender = this.spenders.get(tenantId);
    if (!spender) {
      spender = naturalBatches((asks: Ask[]) => this.spendBatch(tenantId, asks), {
        maxInFlight: 1,
        maxWeight: 100_000,
        weight: (ask) => ask.count,
      });
      this.spenders.set(tenantId, spender);
    }
    return spender({ count, countries });
  }

  private async spendBatch(tenantId: string, asks: Ask[]): Promise<Spent[]> {
    if (asks.length === 1) return [await this.spendOne(tenantId, asks[0].count, asks[0].countries)];
    const count = asks.reduce((n, a) => n + a.count, 0);
    const windows = await q.spend(
      this.db,
      tenantId,
      count,
      asks.flatMap((a) => a.countries),
      this.defaults,
    );
    // Not all of them fit (or the tenant has no row yet): naturalBatches spends them one by one.
    if (!windows) throw new Error('the batch does not fit the budget');
    return asks.map((a) => this.spent(tenantId, a.count, a.countries, windows));
  }

  private spent(tenantId: string, count: number, countries: readonly string[], windows: q.SpentWindows): Spent {
    return { tenantId, sends: count, international: countries.filter((c) => !windows.homeCountries.includes(c)).length, windows };
  }

  private async spendOne(tenantId: string, count: number, countries: readonly string[]): Promise<Spent> {
    for (let round = 0; round < 3; round++) {
      const windows = await q.spend(this.db, tenantId, count, countries, this.defaults);
      if (windows) return this.spent(tenantId, count, countries, windows);
      const found = await q.findBudget(this.db, tenantId);
      // A tenant's first send: its row is made, then spent from.
      if (!found) await q.ensureBudget(this.db, tenantId);
      else {
        const refusal = this.refusal(found.row, found.now, count, countries);
        if (refusal) throw refusal;
        // A window ended between the two statements: try again.
      }
    }
    throw new Error('the send budget kept changing under the spend');
  }

  /**
   * Gives back `sends` of a spend that were not sent (an idempotent replay, a failed or
   * partly refused write), to the windows they came from. Best effort: a database error
   * here leaves them counted rather than hiding the caller's own outcome.
   */
  async refund(spent: Spent | undefined, sends = spent?.sends ?? 0): Promise<void> {
    if (!spent || sends <= 0) return;
    const international = Math.min(spent.international, sends);
    await q.refund(this.db, spent.tenantId, spent.windows, Math.min(sends, spent.sends), international).catch(() => undefined);
  }

  /** The tenant's budgets (its own settings, else the environment's) and what the current windows used. */
  async view(tenantId: string): Promise<BudgetView> {
    const found = await q.findBudget(this.db, tenantId);
    const limits = this.limitsOf(found?.row);
    const now = found?.now ?? new Date();
    const minute = windowAt('perMinute', found?.row.minuteUsed, found?.row.minuteStartedAt, now);
    const day = windowAt('perDay', found?.row.dayUsed, found?.row.dayStartedAt, now);
    const international = windowAt('internationalPerDay', found?.row.internationalUsed, found?.row.internationalStartedAt, now);
    return {
      ...limits,
      homeCountries: [...limits.homeCountries],
      usedThisMinute: minute.used,
      usedToday: day.used,
      internationalUsedToday: international.used,
      minuteResetsAt: minute.resetsAt,
      dayResetsAt: day.resetsAt,
      internationalResetsAt: international.resetsAt,
    };
  }

  /** Sets the tenant's own budgets: a value replaces, null returns to the environment's, undefined keeps. */
  async set(tenantId: string, settings: q.BudgetSettings): Promise<void> {
    const changes = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as q.BudgetSettings;
    if (Object.keys(changes).length === 0) await q.ensureBudget(this.db, tenantId);
    else await q.setBudget(this.db, tenantId, changes);
  }

  private limitsOf(row: q.BudgetRow | undefined): q.BudgetLimits {
    return {
      perMinute: row?.perMinute ?? this.defaults.perMinute,
      perDay: row?.perDay ?? this.defaults.perDay,
      internationalPerDay: row?.internationalPerDay ?? this.defaults.internationalPerDay,
      homeCountries: row?.homeCountries ?? this.defaults.homeCountries,
    };
  }

  // Which budget refused, and when it lets this call through: the latest of the budgets in the way.
  private refusal(row: q.BudgetRow, now: Date, count: number, countries: readonly string[]): OverBudget | undefined {
    const limits = this.limitsOf(row);
    const international = countries.filter((c) => !limits.homeCountries.includes(c)).length;
    const checks: { budget: BudgetName; limit: number; used: number; startedAt: Date | null; need: number }[] = [
      { budget: 'perMinute', limit: limits.perMinute, used: row.minuteUsed, startedAt: row.minuteStartedAt, need: count },
      { budget: 'perDay', limit: limits.perDay, used: row.dayUsed, startedAt: row.dayStartedAt, need: count },
      {
        budget: 'internationalPerDay',
        limit: limits.internationalPerDay,
        used: row.internationalUsed,
        startedAt: row.internationalStartedAt,
        need: international,
      },
    ];
    let worst: OverBudget | undefined;
    for (const { budget, limit, used, startedAt, need } of checks) {
      if (limit === 0 || need === 0) continue;
      const { seconds, what } = WINDOWS[budget];
      const window = windowAt(budget, used, startedAt, now);
      if (window.used + need <= limit) continue;
      let refusal: OverBudget;
      if (need > limit) {
        const asks =
          budget === 'internationalPerDay' ? `${need} international sends (outside ${limits.homeCountries.join(', ')})` : `${need} sends`;
        refusal = new OverBudget(
          `This call asks for ${asks}, more than the ${limit} ${what} this tenant may make: split it into smaller calls`,
          budget,
          seconds,
          new Date(now.getTime() + seconds * 1000),
        );
      } else {
        const resetsAt = window.resetsAt!;
        const wait = Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
        refusal = new OverBudget(
          `This tenant's budget of ${limit} ${what} is spent (${used} used): it resets at ${resetsAt.toISOString()}, in ${wait} s`,
          budget,
          wait,
          resetsAt,
        );
      }
      if (!worst || refusal.retryAfterSeconds > worst.retryAfterSeconds) worst = refusal;
    }
    return worst;
  }
}
