// The poster against a local server: what it refuses before connecting (SSRF), and the
// bounds on what it waits for and reads.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESPONSE_EXCERPT_BYTES, WebhookPoster } from './poster.js';

let server: Server;
let port: number;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      if (req.url === '/big') res.writeHead(200).end('x'.repeat(100_000));
      else if (req.url === '/redirect') res.writeHead(302, { location: '/elsewhere' }).end();
      else if (req.url === '/hang') return;
      else res.writeHead(201).end('created');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const strict = () => new WebhookPoster({ timeoutMs: 1_000, connectTimeoutMs: 500, allowPrivate: false });
const open = () => new WebhookPoster({ timeoutMs: 300, connectTimeoutMs: 200, allowPrivate: true });

describe('with private addresses refused', () => {
  it.each([
    ['a name that resolves to loopback', () => `http://localhost:${port}/ok`],
    ['a loopback literal', () => `http://127.0.0.1:${port}/ok`],
    ['an IPv6 loopback literal', () => `http://[::1]:${port}/ok`],
    ['an IPv4-mapped IPv6 literal', () => `http://[::ffff:127.0.0.1]:${port}/ok`],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a private network address', () => 'http://10.0.0.1/hook'],
  ])('refuses %s without connecting', async (_what, url) => {
    const before = hits.length;
    const poster = strict();
    const result = await poster.post(url(), {}, '{}');
    poster.close();
    expect(result.answered).toBe(false);
    expect(!result.answered && result.error).toMatch(/^address not allowed: .* is not a public address/);
    expect(hits.length).toBe(before);
  });
});

describe('bounds', () => {
  it('answers with the status and the body', async () => {
    const poster = open();
    const result = await poster.post(`http://127.0.0.1:${port}/ok`, { 'content-type': 'application/json' }, '{}');
    poster.close();
    expect(result).toMatchObject({ answered: true, statusCode: 201, excerpt: 'created' });
  });

  it(`reads no more than ${RESPONSE_EXCERPT_BYTES} bytes of an answer`, async () => {
    const poster = open();
    const result = await poster.post(`http://127.0.0.1:${port}/big`, {}, '{}');
    poster.close();
    expect(result.answered && result.excerpt.length).toBe(RESPONSE_EXCERPT_BYTES);
  });

  it('does not follow a redirect', async () => {
    const poster = open();
    const result = await poster.post(`http://127.0.0.1:${port}/redirect`, {}, '{}');
    poster.close();
    expect(result).toMatchObject({ answered: true, statusCode: 302 });
    expect(hits).not.toContain('/elsewhere');
  });

  it('gives up on an endpoint that does not answer', async () => {
    const poster = open();
    const result = await poster.post(`http://127.0.0.1:${port}/hang`, {}, '{}');
    poster.close();
    expect(result).toMatchObject({ answered: false, error: 'no answer within 300 ms' });
    expect(result.durationMs).toBeGreaterThanOrEqual(290);
  });

  it('says so when nothing listens', async () => {
    const idle = createServer();
    await new Promise<void>((resolve) => idle.listen(0, '127.0.0.1', resolve));
    const closedPort = (idle.address() as AddressInfo).port;
    await new Promise((resolve) => idle.close(resolve));
    const poster = open();
    const result = await poster.post(`http://127.0.0.1:${closedPort}/`, {}, '{}');
    poster.close();
    expect(result).toMatchObject({ answered: false, error: 'connection refused' });
  });
});
