// Herald's own texts: the order-status and invoice-due templates every tenant starts with
// (built-in templates, editable, restored by resetTemplate), and the values their flows
// hand to them. The texts are Liquid (templates/engine.ts) like any tenant's template.
import { LRUCache } from 'lru-cache';
import type { TemplateVariantData } from '../db/schema/index.js';
import type { BuiltInTemplate, Channel } from '../domain/enums.js';

export interface BuiltInText {
  builtIn: BuiltInTemplate;
  channel: Channel;
  name: string;
  defaultLocale: string;
  variants: TemplateVariantData[];
}

const ORDER_STATUS_LINE = 'Order {{ order.id }} is now {{ order.status }}.{% if order.note %} {{ order.note }}{% endif %}';

const ORDER_STATUS_TEXT = (channel: 'SMS' | 'WHATSAPP'): BuiltInText => ({
  builtIn: 'ORDER_STATUS',
  channel,
  name: `Order status (${channel === 'SMS' ? 'SMS' : 'WhatsApp'})`,
  defaultLocale: 'en',
  variants: [{ locale: 'en', subject: null, body: ORDER_STATUS_LINE, htmlBody: null }],
});

/** Every built-in template, as Herald writes it. */
export const BUILT_IN_TEXTS: readonly BuiltInText[] = [
  ORDER_STATUS_TEXT('SMS'),
  ORDER_STATUS_TEXT('WHATSAPP'),
  {
    builtIn: 'ORDER_STATUS',
    channel: 'EMAIL',
    name: 'Order status (e-mail)',
    defaultLocale: 'en',
    variants: [
      {
        locale: 'en',
        subject: 'Order {{ order.id }}: {{ order.status }}',
        body: `Hello {{ recipient.name }},\n\n${ORDER_STATUS_LINE}\n\n— Sent by Herald`,
        htmlBody: [
          '<!doctype html><html><body style="font-family: sans-serif">',
          '<p>Hello {{ recipient.name }},</p>',
          '<p>Order <strong>{{ order.id }}</strong> is now <strong>{{ order.status }}</strong>.</p>',
          '{% if order.note %}<p>{{ order.note }}</p>{% endif %}',
          '</body></html>',
        ].join(''),
      },
    ],
  },
  {
    builtIn: 'INVOICE_DUE',
    channel: 'TWITTER_DM',
    name: 'Invoice due (X DM)',
    defaultLocale: 'en',
    variants: [
      {
        locale: 'en',
        subject: null,
        body: [
          'Hi {{ recipient.name }}, your invoice {{ invoice.number }} for {{ invoice.amount }} is due on {{ invoice.dueOn }}.',
          '{% if invoice.url %}\nView and pay it here: {{ invoice.url }}{% endif %}',
        ].join(''),
        htmlBody: null,
      },
    ],
  },
];

export function builtInText(builtIn: string, channel: Channel): BuiltInText | undefined {
  return BUILT_IN_TEXTS.find((t) => t.builtIn === builtIn && t.channel === channel);
}

export interface OrderStatusFacts {
  orderId: string;
  status: string;
  note?: string | null;
}

/** What an order-status template sees: `recipient.name`, `order.id`, `order.status`, `order.note` (null when none). */
export function orderStatusScope(order: OrderStatusFacts, displayName: string) {
  return { recipient: { name: displayName }, order: { id: order.orderId, status: order.status, note: order.note?.trim() || null } };
}

export interface InvoiceFacts {
  number: string;
  amountDue: string;
  currency: string;
  dueDate: string;
  url?: string | null;
}

/**
 * What an invoice-due template sees: the invoice as sent (`number`, `amountDue`, `currency`,
 * `dueDate`, `url`) and as people read it (`amount` "$1,250.00", `dueOn` "December 1, 2026").
 */
export function invoiceScope(invoice: InvoiceFacts, displayName: string) {
  return {
    recipient: { name: displayName },
    invoice: {
      number: invoice.number,
      amountDue: invoice.amountDue,
      currency: invoice.currency,
      dueDate: invoice.dueDate,
      url: invoice.url ?? null,
      amount: formatAmount(invoice.amountDue, invoice.currency),
      dueOn: formatDueDate(invoice.dueDate),
    },
  };
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
