// Every text Herald writes to a person, in one place, so a later change can make them
// per tenant without hunting through services.

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
