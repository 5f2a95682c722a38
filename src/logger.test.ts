import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('debug', sink), lines };
}

describe('log redaction', () => {
  it('redacts secrets and personal data at any depth, in arrays too', () => {
    const { log, lines } = capture();
    const phone = '+14155550123';
    log.info(
      {
        a: { b: { phone } },
        deep: { l1: { l2: { l3: { l4: { l5: { email: 'ann@example.com', authToken: 'tok-secret', kept: 'visible' } } } } } },
        list: [{ recipient: { whatsapp: phone } }, [{ credentials: { apiKey: 'SG.secret' } }]],
        gateway: { webhookPublicKey: 'MFkw-secret' },
      },
      'nested',
    );
    const [line] = lines;
    for (const secret of [phone, 'ann@example.com', 'tok-secret', 'SG.secret', 'MFkw-secret']) expect(line).not.toContain(secret);
    const parsed = JSON.parse(line);
    expect(parsed.a.b.phone).toBe('[redacted]');
    expect(parsed.deep.l1.l2.l3.l4.l5).toEqual({ email: '[redacted]', authToken: '[redacted]', kept: 'visible' });
    expect(parsed.list[0].recipient.whatsapp).toBe('[redacted]');
    expect(parsed.list[1][0].credentials).toBe('[redacted]');
  });

  it('writes a cycle or an object deeper than it walks as a marker, never its contents', () => {
    const { log, lines } = capture();
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    let deep: Record<string, unknown> = { phone: '+14155550199' };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    log.info({ loop, deep }, 'odd shapes');
    expect(lines[0]).not.toContain('+14155550199');
    expect(JSON.parse(lines[0]).loop).toEqual({ name: 'loop', self: '[circular]' });
    expect(lines[0]).toContain('[too deep]');
  });

  it('leaves objects without secrets as they are, and still serializes errors', () => {
    const { log, lines } = capture();
    const fields = { messageId: 'm-1', outcome: { status: 'SENT', attempt: 2 } };
    log.error({ ...fields, err: new Error('boom') }, 'plain');
    const parsed = JSON.parse(lines[0]);
    expect(parsed.outcome).toEqual(fields.outcome);
    expect(parsed.err.message).toBe('boom');
    expect(parsed.err.stack).toContain('Error: boom');
  });
});
