// Limits the services enforce and the schema's descriptions state: one number each, read by
// both, so the documentation cannot drift from what is enforced.

/** How long an idempotency key is remembered (sendSms, sendInvoiceDM, updateOrderStatus). */
export const IDEMPOTENCY_WINDOW_HOURS = 24;
/** One day in milliseconds: retention, webhook retries, quiet hours and stats count in days. */
export const DAY_MS = 86_400_000;
export const IDEMPOTENCY_WINDOW_MS = IDEMPOTENCY_WINDOW_HOURS * 3600 * 1000;

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** What an idempotencyKey may be, as its error message and the field's description say it. */
export const IDEMPOTENCY_KEY_RULE = `1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters without spaces`;
export const IDEMPOTENCY_KEY_PATTERN = new RegExp(`^[\\x21-\\x7e]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}$`);

/** Furthest ahead a sendAt may be, in days. */
export const MAX_SCHEDULE_AHEAD_DAYS = 366;

/** Most invoices one notifyBillingCycle call takes; a larger cycle is sent in several calls. */
export const MAX_INVOICES_PER_CYCLE_CALL = 10_000;

/** Longest rendered text each channel takes (characters); longer is a TOO_LONG refusal. */
export const MAX_BODY_LENGTH = { SMS: 1600, WHATSAPP: 1600, EMAIL: 100_000, TWITTER_DM: 10_000 } as const;
/** Longest HELP reply a tenant may set: it goes back as one SMS text. */
export const MAX_HELP_REPLY_LENGTH = MAX_BODY_LENGTH.SMS;
/** A suppression's reason, as given or as a provider said it. */
export const MAX_SUPPRESSION_REASON_LENGTH = 500;
/** Longest rendered e-mail subject: one header line (RFC 5322). */
export const MAX_SUBJECT_LENGTH = 998;
/** Longest rendered HTML e-mail body. */
export const MAX_HTML_LENGTH = 500_000;
/** Most locale variants one template version has. */
export const MAX_TEMPLATE_VARIANTS = 50;
/** Largest personalisation object, as JSON. */
export const MAX_PERSONALISATION_BYTES = 16_384;
/** Most notifications one sendNotifications call takes. */
export const MAX_NOTIFICATIONS_PER_CALL = 1_000;

/** How long a tenant's messages, logs, events and receipts are kept, in days (setRetention). */
export const RETENTION_DAYS = { default: 30, min: 1, max: 3_650 } as const;
/** Most days one `stats` query spans. */
export const MAX_STATS_DAYS = 366;
