// The HTTP surface around GraphQL: health, readiness, metrics, GET queries, the
// client mistakes Fastify and Apollo answer before a resolver runs, and GraphiQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';

const MAX_BODY = 4096;

let herald: TestHerald;
/** Every response this file received, to check headers that must never appear. */
const responses: { url: string; response: Response }[] = [];

beforeAll(async () => {
  herald = await startTestHerald({ env: { HERALD_MAX_BODY_BYTES: String(MAX_BODY) } });
});
afterAll(() => herald?.stop());

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(`${herald.url}${path}`, init);
  responses.push({ url: path, response });
  return response;
}

const bearer = () => ({ authorization: `Bearer ${herald.adminKey}` });

function postGraphql(body: string, contentType = 'application/json'): Promise<Response> {
  return call('/graphql', { method: 'POST', headers: { 'content-type': contentType, ...bearer() }, body });
}

/** A client-facing error body: JSON, and nothing from a stack trace. */
function expectCleanError(text: string): void {
  expect(text).not.toMatch(/\bat \S+ \(|\n\s+at /);
  expect(text).not.toMatch(/stack/i);
  expect(text).not.toMatch(/node_modules|\.ts:\d+|\.js:\d+/);
}

describe('health, readiness, metrics', () => {
  it('/healthz answers 200', async () => {
    const response = await call('/healthz');
    expect(response.status).toBe(200);
  });

  it('/readyz answers 200 with JSON once started', async () => {
    const response = await call('/readyz');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ready' });
  });

  it('/metrics is Prometheus text with process and GraphQL series after a query', async () => {
    ok(await herald.gql('{ viewer { name } }'));
    const response = await call('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^# HELP /m);
    expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^herald_graphql_operations_total\{[^}]*type="query"[^}]*outcome="ok"[^}]*\} [1-9]\d*$/m);
  });
});

describe('GraphQL over HTTP', () => {
  it('answers a query sent with GET', async () => {
    const response = await call('/graphql?query={viewer{name}}', { headers: bearer() });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { viewer: { name: 'default' } } });
  });

  it('answers a GET query with URL-encoded parameters and variables', async () => {
    const query = encodeURIComponent('query($first: Int) { viewer { name } recipients(first: $first) { totalCount } }');
    const variables = encodeURIComponent(JSON.stringify({ first: 5 }));
    const response = await call(`/graphql?query=${query}&variables=${variables}`, { headers: bearer() });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    expect(body.data.viewer.name).toBe('default');
  });

  it('refuses a mutation sent with GET with 405', async () => {
    const ref = `via-get-${Date.now()}`;
    const query = encodeURIComponent(
      `mutation { createRecipient(input: { kind: CLIENT, displayName: "Via GET", externalRef: "${ref}" }) { recipient { id } } }`,
    );
    const response = await call(`/graphql?query=${query}`, { headers: bearer() });
    expect(response.status).toBe(405);
    expectCleanError(await response.text());
    // Nothing was created.
    const stored = ok(await herald.gql('query($ref: String) { recipients(filter: { externalRef: $ref }) { totalCount } }', { ref }));
    expect(stored.recipients.totalCount).toBe(0);
  });

  it('answers malformed JSON with 400 and a JSON error, no stack', async () => {
    const response = await postGraphql('{"query": "{ viewer { name } }",');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();
    const body = JSON.parse(text);
    expect(typeof body.error === 'string' || Array.isArray(body.errors)).toBe(true);
    expectCleanError(text);
  });

  it('refuses a text/plain body with a 4xx', async () => {
    const response = await postGraphql('{ viewer { name } }', 'text/plain');
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expectCleanError(await response.text());
  });

  it(`refuses a body over HERALD_MAX_BODY_BYTES (${MAX_BODY}) with 413`, async () => {
    const body = JSON.stringify({ query: `{ viewer { name } } # ${'x'.repeat(MAX_BODY)}` });
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY);
    const response = await postGraphql(body);
    expect(response.status).toBe(413);
    expectCleanError(await response.text());
  });

  it('accepts a body just under the limit', async () => {
    const query = '{ viewer { name } } # ';
    const body = JSON.stringify({ query: query + 'x'.repeat(MAX_BODY - 200) });
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_BODY);
    const response = await postGraphql(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { viewer: { name: 'default' } } });
  });

  it('answers an unknown field with 400 GRAPHQL_VALIDATION_FAILED', async () => {
    const response = await postGraphql(JSON.stringify({ query: '{ viewer { name noSuchField } }' }));
    expect(response.status).toBe(400);
    const text = await response.text();
    const body = JSON.parse(text);
    expect(body.data).toBeUndefined();
    expect(body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors[0].message).toMatch(/noSuchField/);
    expectCleanError(text);
  });

  it('answers a syntax error with 400 GRAPHQL_PARSE_FAILED', async () => {
    const response = await postGraphql(JSON.stringify({ query: '{ viewer { name ' }));
    expect(response.status).toBe(400);
    const text = await response.text();
    const body = JSON.parse(text);
    expect(body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expectCleanError(text);
  });

  it('still answers a normal query after all of these', async () => {
    expect(ok(await herald.gql('{ viewer { name } }'))).toEqual({ viewer: { name: 'default' } });
    expect((await call('/readyz')).status).toBe(200);
  });
});

describe('GraphiQL', () => {
  let html: string;
  let page: Response;

  beforeAll(async () => {
    page = await call('/graphiql');
    html = await page.text();
  });

  it('serves HTML with a same-origin content security policy', () => {
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy');
    expect(csp).toBeTruthy();
    const directives = new Map(
      csp!
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((parts) => parts[0])
        .map(([name, ...values]) => [name, values]),
    );
    expect(directives.get('default-src')).toEqual(["'self'"]);
    // Scripts may only come from this server (no inline scripts, no other hosts).
    expect(directives.get('script-src') ?? directives.get('default-src')).toEqual(["'self'"]);
    expect(html).toMatch(/<div id="graphiql"/);
  });

  it('loads every script and stylesheet from a same-origin path that answers 200', async () => {
    const refs = [
      ...[...html.matchAll(/<script\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]),
      ...[...html.matchAll(/<link\b[^>]*\bhref\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]),
    ];
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) {
      // A root-relative path, never a URL of some host (nor protocol-relative //host).
      expect(ref).toMatch(/^\/(?!\/)/);
      const resolved = new URL(ref, herald.url);
      expect(resolved.origin).toBe(new URL(herald.url).origin);
      const asset = await call(resolved.pathname + resolved.search);
      expect(asset.status, ref).toBe(200);
      const type = asset.headers.get('content-type') ?? '';
      expect(type, ref).toMatch(ref.endsWith('.css') ? /^text\/css/ : /javascript/);
      const body = await asset.text();
      expect(body.length, ref).toBeGreaterThan(0);
      if (ref.endsWith('.css')) {
        // Stylesheets pull nothing (fonts, imports) from another host.
        expect(body, ref).not.toMatch(/@import\s+(url\()?\s*["']?(https?:)?\/\//i);
        expect(body, ref).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
      }
    }
  });

  it('references no other host for scripts or styles in its HTML', () => {
    const loads = [...html.matchAll(/<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[3]);
    for (const url of loads) expect(url).not.toMatch(/^(https?:)?\/\//i);
    expect(html).not.toMatch(/<script\b[^>]*\bsrc\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b[^>]*\bhref\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
  });

  it('answers 404 for an unknown asset', async () => {
    const response = await call('/graphiql/assets/nope.js');
    expect(response.status).toBe(404);
  });
});

describe('every response', () => {
  it('has no x-powered-by header', () => {
    expect(responses.length).toBeGreaterThan(15);
    for (const { url, response } of responses) expect(response.headers.get('x-powered-by'), url).toBeNull();
  });
});
