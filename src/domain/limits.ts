// Limits the services enforce and the schema's descriptions state: one number each, read by
// both, so the documentation cannot drift from what is enforced.

/** How long an idempotency key is remembered (sendSms, sendInvoiceDM, updateOrderStatus). */
export const IDEMPOTENCY_WINDOW_HOURS = 24;
export const IDEMPOTENCY_WINDOW_MS = IDEMPOTENCY_WINDOW_HOURS * 3600 * 1000;

/** Furthest ahead a sendAt may be, in days. */
export const MAX_SCHEDULE_AHEAD_DAYS = 366;

/** Most invoices one notifyBillingCycle call takes; a larger cycle is sent in several calls. */
export const MAX_INVOICES_PER_CYCLE_CALL = 10_000;
