// Every text Herald writes to a person, in one place, so a later change can make them
// per tenant without hunting through services.
import { LRUCache } from 'lru-cache';

export interface OrderStatusFacts {
  orderId: string;
  status: string;
  note?: string | null;
}

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/** SMS and WhatsApp: "Order 1042 is now SHIPPED. Leaves the warehouse today." */
export function orderStatusText(order: OrderStatusFacts): string {
  const note = order.note?.trim();
  return `Order ${order.orderId} is now ${order.status}.${note ? ` ${note}` : ''}`;
}

export function orderStatusEmail(order: OrderStatusFacts, displayName: string): EmailContent {
  const note = order.note?.trim();
  const text = [`Hello ${displayName},`, '', orderStatusText(order), '', '— Sent by Herald'].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif">',
    `<p>Hello ${escapeHtml(displayName)},</p>`,
    `<p>Order <strong>${escapeHtml(order.orderId)}</strong> is now <strong>${escapeHtml(order.status)}</strong>.</p>`,
    note ? `<p>${escapeHtml(note)}</p>` : '',
    '</body></html>',
  ].join('');
  return { subject: `Order ${order.orderId}: ${order.status}`, text, html };
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface InvoiceFacts {
  number: string;
  amountDue: string;
  currency: string;
  dueDate: string;
  url?: string | null;
}

// Intl formatters are costly to build (and keep native memory): one per currency, reused.
const amountFormats = new Map<string, Intl.NumberFormat>();
const dueDateFormat = new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' });

/** "$1,250.00": the amount as people write it in that currency. */
export function formatAmount(amount: string, currency: string): string {
  let format = amountFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    amountFormats.set(currency, format);
  }
  // A decimal string keeps every digit (no float rounding of large amounts).
  return format.format(amount as unknown as number);
}

// A billing cycle's invoices share a few due dates: each is formatted once.
const dueDates = new LRUCache<string, string>({
  max: 500,
  memoMethod: (isoDate) => dueDateFormat.format(new Date(`${isoDate}T00:00:00Z`)),
});

/** "December 1, 2026" */
export function formatDueDate(isoDate: string): string {
  return dueDates.memo(isoDate);
}

/** The invoice-due DM. */
export function invoiceDueText(invoice: InvoiceFacts, displayName: string): string {
  const lines = [
    `Hi ${displayName}, your invoice ${invoice.number} for ${formatAmount(invoice.amountDue, invoice.currency)} is due on ${formatDueDate(invoice.dueDate)}.`,
  ];
  if (invoice.url) lines.push(`View and pay it here: ${invoice.url}`);
  return lines.join('\n');
}
