// Send budgets in PostgreSQL, so every API process spends from the same counters. Window
// math runs on the database clock; timestamps are kept to the millisecond so a refund can
// name the window it gives back to.
import { type SQL, eq, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.js';
import { sendBudgets } from '../../db/schema/index.js';

export type BudgetRow = typeof sendBudgets.$inferSelect;

/** The environment's budget, used where the tenant's own setting is null. */
export interface BudgetLimits {
  perMinute: number;
  perDay: number;
  internationalPerDay: number;
  homeCountries: readonly string[];
}

export interface SpentWindows {
  minuteStartedAt: Date;
  dayStartedAt: Date;
  internationalStartedAt: Date;
  /** The tenant's home countries the spend was judged by. */
  homeCountries: string[];
}

const t = sendBudgets;
const NOW = sql`date_trunc('milliseconds', now())`;
const MINUTE = sql.raw(`interval '1 minute'`);
const DAY = sql.raw(`interval '1 day'`);

// Country codes are [A-Z]{2} or "??" (checked by the caller), so a literal is safe and keeps
// the array one parameter on both drivers.
export const textArray = (values: readonly string[]): string => `{${values.map((v) => `"${v}"`).join(',')}}`;

const fresh = (startedAt: SQL | AnyPgColumn, span: SQL) => sql`(${startedAt} > now() - ${span})`;
const current = (used: AnyPgColumn, startedAt: AnyPgColumn, span: SQL) =>
  sql`(case when ${fresh(startedAt, span)} then ${used} else 0 end)`;
const restarted = (startedAt: AnyPgColumn, span: SQL) => sql`(case when ${fresh(startedAt, span)} then ${startedAt} else ${NOW} end)`;
const within = (used: SQL, amount: SQL | number, limit: SQL) => sql`(${limit} = 0 or ${used} + ${amount} <= ${limit})`;

/**
 * Spends `sends` of the minute and day budgets and the international ones among
 * `countries` (one per SMS or WhatsApp destination) in one statement, all or nothing:
 * the row comes back when every budget had room, nothing when one had not (or the tenant
 * has no row yet). Concurrent spends of a tenant queue on its row, and each is checked
 * against the counts the one before it left.
 */
export async function spend(
  ex: Executor,
  tenantId: string,
  sends: number,
  countries: readonly string[],
  defaults: BudgetLimits,
): Promise<SpentWindows | undefined> {
  const international = sql`(select count(*)::int from unnest(${textArray(countries)}::text[]) as d(country)
    where d.country <> all(coalesce(${t.homeCountries}, ${textArray(defaults.homeCountries)}::text[])))`;
  const perMinute = sql`coalesce(${t.perMinute}, ${defaults.perMinute}::int)`;
  const perDay = sql`coalesce(${t.perDay}, ${defaults.perDay}::int)`;
  const perInternational = sql`coalesce(${t.internationalPerDay}, ${defaults.internationalPerDay}::int)`;
  const [row] = await ex
    .update(t)
    .set({
      minuteStartedAt: restarted(t.minuteStartedAt, MINUTE),
      minuteUsed: sql`${current(t.minuteUsed, t.minuteStartedAt, MINUTE)} + ${sends}::int`,
      dayStartedAt: restarted(t.dayStartedAt, DAY),
      dayUsed: sql`${current(t.dayUsed, t.dayStartedAt, DAY)} + ${sends}::int`,
      internationalStartedAt: restarted(t.internationalStartedAt, DAY),
      internationalUsed: sql`${current(t.internationalUsed, t.internationalStartedAt, DAY)} + ${international}`,
    })
    .where(
      sql`${t.tenantId} = ${tenantId}
        and ${within(current(t.minuteUsed, t.minuteStartedAt, MINUTE), sql`${sends}::int`, perMinute)}
        and ${within(current(t.dayUsed, t.dayStartedAt, DAY), sql`${sends}::int`, perDay)}
        and (${international} = 0 or ${within(current(t.internationalUsed, t.internationalStartedAt, DAY), international, perInternational)})`,
    )
    .returning({
      minuteStartedAt: t.minuteStartedAt,
      dayStartedAt: t.dayStartedAt,
      internationalStartedAt: t.internationalStartedAt,
      homeCountries: sql<string[]>`coalesce(${t.homeCountries}, ${textArray(defaults.homeCountries)}::text[])`,
      // Every send of a tenant updates this one row, so its lock is held until commit: an
      // asynchronous commit (this transaction only) releases it without waiting for the WAL
      // flush. A crash can then forget the last moments' spends, which only gives budget back.
      asyncCommit: sql<string>`set_config('synchronous_commit', 'off', true)`,
    });
  return (
    row && {
      minuteStartedAt: row.minuteStartedAt!,
      dayStartedAt: row.dayStartedAt!,
      internationalStartedAt: row.internationalStartedAt!,
      homeCountries: row.homeCountries,
    }
  );
}

/** Gives back sends not made (a replay, a failed write), to the windows they were spent from only. */
export async function refund(ex: Executor, tenantId: string, spent: SpentWindows, sends: number, international: number): Promise<void> {
  const back = (used: AnyPgColumn, startedAt: AnyPgColumn, at: Date, amount: number) =>
    sql`case when ${startedAt} = ${at.toISOString()}::timestamptz then greatest(${used} - ${amount}::int, 0) else ${used} end`;
  await ex
    .update(t)
    .set({
      minuteUsed: back(t.minuteUsed, t.minuteStartedAt, spent.minuteStartedAt, sends),
      dayUsed: back(t.dayUsed, t.dayStartedAt, spent.dayStartedAt, sends),
      internationalUsed: back(t.internationalUsed, t.internationalStartedAt, spent.internationalStartedAt, international),
    })
    .where(eq(t.tenantId, tenantId));
}

/** The tenant's row, read with the database's clock. */
export async function findBudget(ex: Executor, tenantId: string): Promise<{ row: BudgetRow; now: Date } | undefined> {
  const [found] = await ex
    .select({ row: t, now: sql<string>`now()` })
    .from(t)
    .where(eq(t.tenantId, tenantId));
  return found ? { row: found.row, now: new Date(found.now) } : undefined;
}

export async function ensureBudget(ex: Executor, tenantId: string): Promise<void> {
  await ex.insert(t).values({ tenantId }).onConflictDoNothing();
}

export type BudgetSettings = Partial<Pick<BudgetRow, 'perMinute' | 'perDay' | 'internationalPerDay' | 'homeCountries'>>;

export async function setBudget(ex: Executor, tenantId: string, settings: BudgetSettings): Promise<void> {
  await ex
    .insert(t)
    .values({ tenantId, ...settings })
    .onConflictDoUpdate({ target: t.tenantId, set: settings });
}
