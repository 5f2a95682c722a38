// A local stand-in for X API v2's user lookup and Direct Message endpoints, answering as X
// documents: OAuth 1.0a (HMAC-SHA1) checked against the registered app and access
// secrets, JSON bodies, problem objects for errors, inline errors on 200 for an unknown
// username, x-rate-limit-* headers. Tests point TWITTER_API_BASE_URL (baseUrls.twitter) at `url`.
//
// The signature is checked over the URL this server was called at (http://<Host><path>),
// which is what the client signs when its base URL is moved (see providers/twitter/twitter-api.ts).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FakeAnswer as Answer, startHttpFake } from './http-fake.js';

export interface TwitterFakeAccount {
  appKey: string;
  appSecret: string;
  accessToken: string;
  accessSecret: string;
}

export interface TwitterFakeUser {
  id: string;
  name: string;
  username: string;
  dmsClosed: boolean;
}

/** A programmed answer for the next valid requests of an endpoint. */
export interface TwitterFakeFailure {
  status: number;
  /** 429: x-rate-limit-reset, epoch seconds (default: now + 15 min). */
  reset?: number;
  /** 429: x-rate-limit-limit (default 15) and -remaining (default 0). */
  limit?: number;
  remaining?: number;
  /** Replaces the default problem body. */
  body?: unknown;
  delayMs?: number;
  /** Which endpoint fails (default: 'dm'). */
  endpoint?: 'dm' | 'lookup';
}

export interface TwitterFakeRequest {
  method: string;
  path: string;
  /** The raw query string, without "?". */
  query: string;
  /** The URL the signature was checked against. */
  signedUrl: string;
  /** oauth_consumer_key / oauth_token of the request, whether or not the signature was right. */
  consumerKey: string | null;
  token: string | null;
  /** 'ok' or why the request was refused with 401. */
  auth: string;
  body: string;
  headers: IncomingMessage['headers'];
}

export interface TwitterFakeDm {
  participantId: string;
  text: string;
  /** The access token that signed it: the sending account. */
  senderToken: string;
  dmConversationId: string;
  dmEventId: string;
}

export interface TwitterFake {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request received, in order. */
  requests: TwitterFakeRequest[];
  /** Usernames looked up with a valid signature, as asked, in order. */
  lookups: string[];
  /** Direct Messages accepted (201), in order. */
  dms: TwitterFakeDm[];
  /** Delay before every answer (ms); programmed failures may add their own. */
  delayMs: number;
  addAccount(account: TwitterFakeAccount): void;
  /** Registers an X account; its id is generated unless given. */
  addUser(handle: string, options?: { id?: string; name?: string; dmsClosed?: boolean }): TwitterFakeUser;
  /** The next `n` validly signed requests to the endpoint get `failure`. */
  failNext(n: number, failure: TwitterFakeFailure): void;
  /** Forgets requests, lookups, DMs, programmed failures and the delay; accounts and users stay. */
  reset(): void;
  close(): Promise<void>;
}

const LOOKUP_PATH = /^\/2\/users\/by\/username\/([^/]+)$/;
const DM_PATH = /^\/2\/dm_conversations\/with\/([^/]+)\/messages$/;
/** How far a request's oauth_timestamp may be from the fake's clock. */
const TIMESTAMP_WINDOW_S = 300;

/** Fresh credentials of an app and the account it acts for. */
export function fakeTwitterAccount(): TwitterFakeAccount {
  return {
    appKey: randomBytes(12).toString('base64url'),
    appSecret: randomBytes(30).toString('base64url'),
    accessToken: `${randomDigits(19)}-${randomBytes(15).toString('base64url')}`,
    accessSecret: randomBytes(30).toString('base64url'),
  };
}

export async function startTwitterFake(options: { accounts?: TwitterFakeAccount[]; delayMs?: number } = {}): Promise<TwitterFake> {
  const apps = new Map<string, string>();
  const tokens = new Map<string, string>();
  const users = new Map<string, TwitterFakeUser>(); // by lower-case username
  const usersById = new Map<string, TwitterFakeUser>();
  const failures: TwitterFakeFailure[] = [];
  const nonces = new Set<string>();

  const addAccount = (a: TwitterFakeAccount) => {
    apps.set(a.appKey, a.appSecret);
    tokens.set(a.accessToken, a.accessSecret);
  };
  for (const a of options.accounts ?? []) addAccount(a);

  const server = await startHttpFake(
    (req, body) => {
      const [path, query = ''] = (req.url ?? '/').split('?');
      const signedUrl = `http://${(req.headers.host ?? '').toLowerCase()}${path}`;
      const oauth = parseOAuthHeader(req.headers.authorization);
      const auth = verify(req, signedUrl, query, body, oauth);
      fake.requests.push({
        method: req.method ?? '',
        path,
        query,
        signedUrl,
        consumerKey: oauth?.oauth_consumer_key ?? null,
        token: oauth?.oauth_token ?? null,
        auth,
        body,
        headers: req.headers,
      });
      return auth === 'ok' ? handle(req.method ?? '', path, body, oauth!.oauth_token) : unauthorized();
    },
    { delayMs: () => fake.delayMs, send },
  );

  /** 'ok', or why the OAuth 1.0a signature is refused. */
  function verify(req: IncomingMessage, signedUrl: string, query: string, body: string, oauth: Record<string, string> | null): string {
    if (!oauth) return 'no OAuth authorization header';
    const { oauth_consumer_key: key, oauth_token: token, oauth_signature: signature, oauth_signature_method: method } = oauth;
    if (method !== 'HMAC-SHA1') return `unsupported signature method ${method}`;
    if (oauth.oauth_version !== undefined && oauth.oauth_version !== '1.0') return 'bad oauth_version';
    if (!key || !apps.has(key)) return 'unknown consumer key';
    if (!token || !tokens.has(token)) return 'unknown access token';
    if (!signature || !oauth.oauth_nonce || !oauth.oauth_timestamp) return 'incomplete OAuth parameters';
    const ts = Number(oauth.oauth_timestamp);
    if (!Number.isInteger(ts) || Math.abs(ts - Date.now() / 1000) > TIMESTAMP_WINDOW_S) return 'timestamp out of bounds';

    // RFC 5849 3.4.1.3: query, oauth_* (minus signature and realm) and a form body.
    const params: [string, string][] = [];
    for (const [k, v] of new URLSearchParams(query)) params.push([k, v]);
    for (const [k, v] of Object.entries(oauth)) if (k !== 'oauth_signature' && k !== 'realm') params.push([k, v]);
    if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body)) params.push([k, v]);
    }
    const normalized = params
      .map(([k, v]) => [percentEncode(k), percentEncode(v)] as const)
      .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const base = [(req.method ?? '').toUpperCase(), percentEncode(signedUrl), percentEncode(normalized)].join('&');
    const signingKey = `${percentEncode(apps.get(key)!)}&${percentEncode(tokens.get(token)!)}`;
    const expected = createHmac('sha1', signingKey).update(base).digest();
    const given = Buffer.from(signature, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature mismatch';
    // Checked last, so a bad signature cannot burn a nonce.
    const nonceKey = `${key}:${oauth.oauth_nonce}:${ts}`;
    if (nonces.has(nonceKey)) return 'nonce reused';
    nonces.add(nonceKey);
    return 'ok';
  }

  function handle(method: string, path: string, body: string, token: string): Answer {
    const lookup = LOOKUP_PATH.exec(path);
    if (lookup && method === 'GET') {
      const username = decodeURIComponent(lookup[1]);
      fake.lookups.push(username);
      const failure = takeFailure('lookup');
      if (failure) return failureAnswer(failure);
      if (!/^[A-Za-z0-9_]{1,15}$/.test(username)) {
        return invalidRequest(`The \`username\` query parameter value [${username}] does not match ^[A-Za-z0-9_]{1,15}$`);
      }
      const user = users.get(username.toLowerCase());
      if (!user) {
        return {
          status: 200,
          body: {
            errors: [
              {
                value: username,
                detail: `Could not find user with username: [${username}].`,
                title: 'Not Found Error',
                resource_type: 'user',
                parameter: 'username',
                resource_id: username,
                type: 'https://api.twitter.com/2/problems/resource-not-found',
              },
            ],
          },
        };
      }
      return { status: 200, body: { data: { id: user.id, name: user.name, username: user.username } } };
    }

    const dm = DM_PATH.exec(path);
    if (dm && method === 'POST') {
      const participantId = decodeURIComponent(dm[1]);
      const failure = takeFailure('dm');
      if (failure) return failureAnswer(failure);
      if (!/^\d{1,19}$/.test(participantId))
        return invalidRequest(`The \`participant_id\` query parameter value [${participantId}] is not valid`);
      let payload: { text?: unknown };
      try {
        payload = JSON.parse(body) as { text?: unknown };
      } catch {
        return invalidRequest('Request body is not valid JSON');
      }
      if (typeof payload.text !== 'string' || payload.text.trim() === '') return invalidRequest('text must be a non-empty string');
      if (payload.text.length > 10_000) return invalidRequest('text must be at most 10000 characters');
      const participant = usersById.get(participantId);
      if (!participant)
        return problem(
          404,
          'Not Found Error',
          `Could not find user with participant_id: [${participantId}].`,
          'https://api.twitter.com/2/problems/resource-not-found',
        );
      if (participant.dmsClosed) {
        return problem(403, 'Forbidden', 'You are not permitted to send Direct Messages to this user.', 'about:blank');
      }
      const record: TwitterFakeDm = {
        participantId,
        text: payload.text,
        senderToken: token,
        dmConversationId: `${senderId(token)}-${participantId}`,
        dmEventId: randomDigits(19),
      };
      fake.dms.push(record);
      return {
        status: 201,
        body: { data: { dm_conversation_id: record.dmConversationId, dm_event_id: record.dmEventId } },
        headers: windowHeaders(15, 14),
      };
    }

    return problem(404, 'Not Found Error', `Sorry, that page does not exist: ${method} ${path}`, 'about:blank');
  }

  function takeFailure(endpoint: 'dm' | 'lookup'): TwitterFakeFailure | undefined {
    const i = failures.findIndex((f) => (f.endpoint ?? 'dm') === endpoint);
    return i < 0 ? undefined : failures.splice(i, 1)[0];
  }

  const fake: TwitterFake = {
    url: server.url,
    requests: [],
    lookups: [],
    dms: [],
    delayMs: options.delayMs ?? 0,
    addAccount,
    addUser(handle, opts = {}) {
      const username = handle.replace(/^@/, '');
      const user: TwitterFakeUser = {
        id: opts.id ?? randomDigits(18),
        name: opts.name ?? username,
        username,
        dmsClosed: opts.dmsClosed ?? false,
      };
      users.set(username.toLowerCase(), user);
      usersById.set(user.id, user);
      return user;
    },
    failNext(n, failure) {
      for (let i = 0; i < n; i++) failures.push(failure);
    },
    reset() {
      fake.requests.length = 0;
      fake.lookups.length = 0;
      fake.dms.length = 0;
      failures.length = 0;
      fake.delayMs = 0;
    },
    close: () => server.close(),
  };
  return fake;
}

function failureAnswer(f: TwitterFakeFailure): Answer {
  if (f.status === 429) {
    const reset = f.reset ?? Math.floor(Date.now() / 1000) + 900;
    return {
      status: 429,
      body: f.body ?? { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
      headers: { ...windowHeaders(f.limit ?? 15, f.remaining ?? 0, reset), 'content-type': 'application/problem+json' },
      delayMs: f.delayMs,
    };
  }
  const title = TITLES[f.status] ?? 'Error';
  const answer = problem(f.status, title, title, 'about:blank');
  return { ...answer, body: f.body ?? answer.body, delayMs: f.delayMs };
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function unauthorized(): Answer {
  return problem(401, 'Unauthorized', 'Unauthorized', 'about:blank');
}

function problem(status: number, title: string, detail: string, type: string): Answer {
  return { status, body: { title, detail, type, status }, headers: { 'content-type': 'application/problem+json' } };
}

function invalidRequest(message: string): Answer {
  return {
    status: 400,
    body: {
      errors: [{ message }],
      title: 'Invalid Request',
      detail: 'One or more parameters to your request was invalid.',
      type: 'https://api.twitter.com/2/problems/invalid-request',
    },
  };
}

function windowHeaders(limit: number, remaining: number, reset = Math.floor(Date.now() / 1000) + 900): Record<string, string> {
  return { 'x-rate-limit-limit': String(limit), 'x-rate-limit-remaining': String(remaining), 'x-rate-limit-reset': String(reset) };
}

function send(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}

/** `OAuth k="v", …` → decoded parameters, or null. */
function parseOAuthHeader(header: string | undefined): Record<string, string> | null {
  const m = /^OAuth\s+(.+)$/i.exec(header ?? '');
  if (!m) return null;
  const out: Record<string, string> = {};
  for (const part of m[1].split(',')) {
    const kv = /^\s*([^=\s]+)\s*=\s*"([^"]*)"\s*$/.exec(part);
    if (!kv) return null;
    try {
      out[decodeURIComponent(kv[1])] = decodeURIComponent(kv[2]);
    } catch {
      return null;
    }
  }
  return out;
}

/** RFC 3986 unreserved characters kept, everything else %XX (RFC 5849 3.6). */
function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The user id X puts in front of an access token ("<id>-<random>"). */
function senderId(token: string): string {
  return /^(\d+)-/.exec(token)?.[1] ?? '0';
}

function randomDigits(n: number): string {
  let s = String(1 + (randomBytes(1)[0] % 9));
  while (s.length < n) s += String(randomBytes(1)[0] % 10);
  return s;
}
