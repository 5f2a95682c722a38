import { describe, expect, it } from 'vitest';
import { escapeHtml, orderStatusEmail, orderStatusText } from './index.js';

describe('order status templates', () => {
  it('reads naturally as a text message, with or without a note', () => {
    expect(orderStatusText({ orderId: '1042', status: 'SHIPPED', note: 'Leaves today.' })).toBe('Order 1042 is now SHIPPED. Leaves today.');
    expect(orderStatusText({ orderId: '1042', status: 'SHIPPED', note: '  ' })).toBe('Order 1042 is now SHIPPED.');
  });

  it('writes an e-mail with a subject, a text part and an HTML part that escapes what the caller sent', () => {
    const email = orderStatusEmail({ orderId: '<b>7</b>', status: 'DELIVERED', note: 'Thanks & "enjoy"' }, 'Ann <Admin>');
    expect(email.subject).toBe('Order <b>7</b>: DELIVERED');
    expect(email.text).toContain('Order <b>7</b> is now DELIVERED. Thanks & "enjoy"');
    expect(email.html).toContain('Order <strong>&lt;b&gt;7&lt;/b&gt;</strong> is now <strong>DELIVERED</strong>');
    expect(email.html).toContain('Hello Ann &lt;Admin&gt;');
    expect(email.html).toContain('Thanks &amp; &quot;enjoy&quot;');
    expect(email.html).not.toContain('<b>7</b>');
  });

  it('escapes every HTML-special character', () => {
    expect(escapeHtml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  });
});
