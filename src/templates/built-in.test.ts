import { describe, expect, it } from 'vitest';
import { renderText } from '../modules/templates/render.js';
import { builtInText, invoiceScope, orderStatusScope } from './built-in.js';

const render = (
  builtIn: 'ORDER_STATUS' | 'INVOICE_DUE',
  channel: 'SMS' | 'WHATSAPP' | 'EMAIL' | 'TWITTER_DM',
  scope: Record<string, unknown>,
) => renderText(channel, builtInText(builtIn, channel)!, scope);

describe('built-in order status templates', () => {
  it('reads naturally as a text message, with or without a note', () => {
    const order = { orderId: '1042', status: 'SHIPPED' };
    expect(render('ORDER_STATUS', 'SMS', orderStatusScope({ ...order, note: 'Leaves today.' }, 'Ann')).body).toBe(
      'Order 1042 is now SHIPPED. Leaves today.',
    );
    expect(render('ORDER_STATUS', 'SMS', orderStatusScope({ ...order, note: '  ' }, 'Ann')).body).toBe('Order 1042 is now SHIPPED.');
    expect(render('ORDER_STATUS', 'WHATSAPP', orderStatusScope(order, 'Ann')).body).toBe('Order 1042 is now SHIPPED.');
  });

  it('writes an e-mail with a subject, a text part and an HTML part that escapes what the caller sent', () => {
    const email = render(
      'ORDER_STATUS',
      'EMAIL',
      orderStatusScope({ orderId: '<b>7</b>', status: 'DELIVERED', note: 'Thanks & "enjoy"' }, 'Ann <Admin>'),
    );
    expect(email.subject).toBe('Order <b>7</b>: DELIVERED');
    expect(email.body).toBe('Hello Ann <Admin>,\n\nOrder <b>7</b> is now DELIVERED. Thanks & "enjoy"\n\n— Sent by Herald');
    expect(email.htmlBody).toBe(
      '<!doctype html><html><body style="font-family: sans-serif"><p>Hello Ann &lt;Admin&gt;,</p>' +
        '<p>Order <strong>&lt;b&gt;7&lt;/b&gt;</strong> is now <strong>DELIVERED</strong>.</p>' +
        '<p>Thanks &amp; &quot;enjoy&quot;</p></body></html>',
    );
  });
});

describe('built-in invoice-due template', () => {
  const invoice = { number: 'INV-7', amountDue: '1250.00', currency: 'USD', dueDate: '2026-12-01' };

  it('says the amount and the date as people write them, and the link when there is one', () => {
    expect(render('INVOICE_DUE', 'TWITTER_DM', invoiceScope(invoice, 'Ann')).body).toBe(
      'Hi Ann, your invoice INV-7 for $1,250.00 is due on December 1, 2026.',
    );
    expect(render('INVOICE_DUE', 'TWITTER_DM', invoiceScope({ ...invoice, url: 'https://pay.example/7' }, 'Ann')).body).toBe(
      'Hi Ann, your invoice INV-7 for $1,250.00 is due on December 1, 2026.\nView and pay it here: https://pay.example/7',
    );
  });
});
