// Invoice checks shared by sendInvoiceDM and notifyBillingCycle: each problem names the
// field at fault relative to the invoice, so callers can prefix their own path.
import type { InvoiceData } from '../../db/schema/index.js';

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export interface InvoiceProblem {
  field: 'number' | 'amountDue' | 'currency' | 'dueDate' | 'url';
  message: string;
}

export interface InvoiceFields {
  number: string;
  amountDue: string;
  currency: string;
  dueDate: string;
  url?: string | null;
}

export const INVOICE_NUMBER_MAX = 64;
export const INVOICE_URL_MAX = 2048;
export const AMOUNT_MAX_INTEGER_DIGITS = 15;

const MINOR_UNITS = new Map<string, number>();

/** Fraction digits a currency allows (USD 2, JPY 0, KWD 3); computed once per currency. */
export function minorUnits(currency: string): number {
  let digits = MINOR_UNITS.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    MINOR_UNITS.set(currency, digits);
  }
  return digits;
}

/** The normalized invoice, or every problem with it. */
export function checkInvoice(input: InvoiceFields): { invoice?: InvoiceData; problems: InvoiceProblem[] } {
  const problems: InvoiceProblem[] = [];
  const number = input.number.trim();
  if (!number) problems.push({ field: 'number', message: 'number must not be empty' });
  else if (number.length > INVOICE_NUMBER_MAX)
    problems.push({ field: 'number', message: `number must be at most ${INVOICE_NUMBER_MAX} characters` });

  const currency = input.currency.trim().toUpperCase();
  const knownCurrency = /^[A-Z]{3}$/.test(currency) && CURRENCIES.has(currency);
  if (!knownCurrency)
    problems.push({ field: 'currency', message: `currency must be an ISO 4217 code such as USD, got "${input.currency.slice(0, 10)}"` });

  const amount = input.amountDue.trim();
  const match = new RegExp(`^(\\d{1,${AMOUNT_MAX_INTEGER_DIGITS}})(?:\\.(\\d+))?$`).exec(amount);
  if (!match) problems.push({ field: 'amountDue', message: 'amountDue must be a non-negative decimal such as "125.40"' });
  else if (knownCurrency && (match[2]?.length ?? 0) > minorUnits(currency)) {
    problems.push({ field: 'amountDue', message: `amountDue has more decimals than ${currency} allows (${minorUnits(currency)})` });
  }

  const dueDate = input.dueDate.trim();
  if (!isCalendarDate(dueDate)) problems.push({ field: 'dueDate', message: 'dueDate must be a real date written YYYY-MM-DD' });

  const url = input.url?.trim() || null;
  if (url !== null && !isHttpUrl(url)) problems.push({ field: 'url', message: 'url must be an http(s) URL' });

  if (problems.length > 0) return { problems };
  return { invoice: { number, amountDue: amount, currency, dueDate, url }, problems };
}

function isCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.getUTCFullYear() === Number(m[1]) && date.getUTCMonth() === Number(m[2]) - 1 && date.getUTCDate() === Number(m[3]);
}

function isHttpUrl(value: string): boolean {
  if (value.length > INVOICE_URL_MAX) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !!url.hostname;
  } catch {
    return false;
  }
}
