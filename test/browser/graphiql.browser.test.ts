// GraphiQL as a person uses it: headless Chromium opens /graphiql, the key is typed into
// the Headers tab, the default query runs, and every request stays on this server.
// Needs /usr/bin/chromium (Debian's package); run with `npm run test:browser`.
import fs from 'node:fs';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/graphiql.png';

let herald: TestHerald;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const consoleErrors: string[] = [];
const pageErrors: string[] = [];
const failedRequests: string[] = [];
/** Every answer the page got: URL, status and, for /graphql, the operation sent and the body received. */
const answers: { url: string; status: number; sent?: string; body?: string }[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  herald = await startTestHerald();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Every request any page of this context makes, service workers included.
  context.on('request', (request) => requests.push(request.url()));
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('requestfailed', (request) => failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on('response', async (response) => {
    const answer: (typeof answers)[number] = { url: response.url(), status: response.status() };
    answers.push(answer);
    if (new URL(response.url()).pathname === '/graphql') {
      answer.sent = response.request().postData() ?? undefined;
      answer.body = await response.text().catch(() => undefined);
    }
  });
});

afterAll(async () => {
  await browser?.close();
  await herald?.stop();
});

describe('GraphiQL in Chromium', () => {
  it('renders, runs the default query with the key typed into Headers, and loads nothing from another host', async () => {
    const response = await page.goto(`${herald.url}/graphiql`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);

    // The editor is rendered: query editor, headers editor (open by default), execute button.
    await page.locator('.graphiql-container').waitFor({ state: 'visible', timeout: 30_000 });
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ state: 'visible' });
    // Herald opens the Headers tab by default (the variables editor is there too, hidden).
    await expect.poll(() => page.locator('.graphiql-editor-tools button.active').innerText()).toBe('Headers');
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
    await headersEditor.waitFor({ state: 'visible' });
    await expect.poll(() => headersEditor.innerText()).toContain('Bearer');

    // The schema loads before any key is typed (introspection needs none): GraphiQL's
    // first request is the introspection query and it succeeds.
    await expect.poll(() => answers.find((a) => a.sent?.includes('IntrospectionQuery') && a.body !== undefined)).toBeTruthy();
    const introspection = answers.find((a) => a.sent?.includes('IntrospectionQuery'))!;
    expect(introspection.status, introspection.body).toBe(200);
    expect(JSON.parse(introspection.body!).data.__schema.queryType.name).toBe('Query');

    // Type the key after "Bearer " in the default headers {"Authorization": "Bearer "}.
    await headersEditor.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.type(herald.adminKey);
    await expect.poll(() => headersEditor.innerText()).toContain(`"Bearer ${herald.adminKey}"`);

    // Run the default query (viewer and channels).
    expect(await page.locator('.graphiql-query-editor').innerText()).toContain('viewer');
    const graphqlResponse = page.waitForResponse(
      (r) =>
        r.url().startsWith(`${herald.url}/graphql`) && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('viewer'),
    );
    await page.locator('.graphiql-execute-button').click();
    expect((await graphqlResponse).status()).toBe(200);

    const result = page.locator('.graphiql-response');
    await expect.poll(() => result.innerText(), { timeout: 30_000 }).toMatch(/"name":\s*"default"/);
    const text = await result.innerText();
    expect(text).not.toMatch(/"errors"/);
    expect(text).toMatch(/"channels"/);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Nothing left this server: every http(s) request went to 127.0.0.1:<port>.
    const origin = new URL(herald.url).origin;
    expect(new URL(herald.url).host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(requests.length).toBeGreaterThanOrEqual(7);
    const elsewhere = requests.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin);
    expect(elsewhere).toEqual([]);
    expect(requests).toContain(`${origin}/graphiql/assets/graphiql.min.js`);

    expect(failedRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
    // No CSP violation (a blocked inline script, style or font), no failed load.
    expect(consoleErrors.filter((m) => /Content Security Policy|Refused to/i.test(m))).toEqual([]);
    // Only the browser's own favicon probe may miss; everything the page asked for answered 200.
    expect(answers.filter((a) => a.status !== 200 && new URL(a.url).pathname !== '/favicon.ico')).toEqual([]);
  });
});
