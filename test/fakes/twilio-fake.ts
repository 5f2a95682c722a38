// A local stand-in for Twilio's Messages API (2010-04-01), answering as Twilio documents:
// form-encoded requests, Basic auth with the account SID and auth token, JSON bodies with
// Twilio's error codes. Tests point TWILIO_API_BASE_URL (baseUrls.twilio) at `url`.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FakeAnswer as Answer, startHttpFake } from './http-fake.js';

export interface TwilioFakeAccount {
  accountSid: string;
  authToken: string;
}

/** A programmed answer: an HTTP error with Twilio's code, optionally late. */
export interface TwilioFakeFailure {
  status: number;
  code?: number;
  message?: string;
  /** Sent as the Retry-After header. */
  retryAfter?: string | number;
  delayMs?: number;
}

export interface TwilioFakeRequest {
  method: string;
  path: string;
  /** The account SID of the Basic auth credentials, whether or not they were right; null without auth. */
  authAccountSid: string | null;
  form: Record<string, string>;
  headers: IncomingMessage['headers'];
}

export interface TwilioFakeMessage {
  sid: string;
  account_sid: string;
  to: string;
  from: string | null;
  body: string;
  status: 'queued';
  status_callback: string | null;
}

/** A send the fake accepted but has not answered yet (see `holdNext`). */
export interface TwilioFakeHold {
  /** Resolves with the message once the fake has accepted it, before it answers. */
  accepted: Promise<TwilioFakeMessage>;
  /** Sends the held answer (the 201). */
  release(): void;
}

export interface TwilioFake {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request received, in order. */
  requests: TwilioFakeRequest[];
  /** Messages accepted (201), in order. */
  messages: TwilioFakeMessage[];
  /** Delay before every answer (ms); programmed failures may add their own. */
  delayMs: number;
  addAccount(account: TwilioFakeAccount): void;
  /** The next `n` Messages requests with valid auth get `failure` instead of being accepted. */
  failNext(n: number, failure: TwilioFakeFailure): void;
  /** Every Messages request of the account gets `failure` (an outage of that account) until called with null. */
  failAccount(accountSid: string, failure: TwilioFakeFailure | null): void;
  /** The next message accepted is answered only when the returned hold is released. */
  holdNext(): TwilioFakeHold;
  /** Forgets requests, messages, programmed failures, holds not yet used and the delay; accounts stay. */
  reset(): void;
  close(): Promise<void>;
}

/** Twilio's magic test number: "not a valid phone number". */
export const INVALID_NUMBER = '+15005550001';

const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;

/** A fresh, well-formed account for the fake: AC + 32 hex and a 32-hex token. */
export function fakeTwilioAccount(): TwilioFakeAccount {
  return { accountSid: `AC${randomBytes(16).toString('hex')}`, authToken: randomBytes(16).toString('hex') };
}

export async function startTwilioFake(options: { accounts?: TwilioFakeAccount[]; delayMs?: number } = {}): Promise<TwilioFake> {
  const accounts = new Map<string, string>();
  for (const a of options.accounts ?? []) accounts.set(a.accountSid, a.authToken);
  const failures: TwilioFakeFailure[] = [];
  const accountFailures = new Map<string, TwilioFakeFailure>();
  const holds: { accept(message: TwilioFakeMessage): void; released: Promise<void> }[] = [];
  const held = new WeakMap<Answer, Promise<void>>();

  const server = await startHttpFake(
    (req, body) => {
      const path = (req.url ?? '/').split('?')[0];
      const form = Object.fromEntries(new URLSearchParams(body));
      const auth = basicAuth(req.headers.authorization);
      fake.requests.push({ method: req.method ?? '', path, authAccountSid: auth?.user ?? null, form, headers: req.headers });
      return handle(req.method ?? '', path, auth, form);
    },
    {
      delayMs: () => fake.delayMs,
      send: (res, answer) => {
        const released = held.get(answer);
        if (!released) return send(res, answer);
        void released.then(() => {
          if (!res.destroyed) send(res, answer);
        });
      },
    },
  );

  function handle(method: string, path: string, auth: { user: string; password: string } | null, form: Record<string, string>): Answer {
    const match = MESSAGES_PATH.exec(path);
    if (!match || method !== 'POST') return error(404, 20404, `The requested resource ${path} was not found`);
    const pathSid = decodeURIComponent(match[1]);
    if (!auth || accounts.get(auth.user) !== auth.password || auth.user !== pathSid) {
      return { ...error(401, 20003, 'Authenticate'), headers: { 'www-authenticate': 'Basic realm="Twilio API"' } };
    }
    const failure = accountFailures.get(pathSid) ?? failures.shift();
    if (failure) {
      const answer = error(failure.status, failure.code, failure.message ?? defaultMessage(failure.status));
      return {
        ...answer,
        delayMs: failure.delayMs,
        headers: failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {},
      };
    }
    if (!form.To) return error(400, 21604, "A 'To' phone number is required.");
    if (!form.From && !form.MessagingServiceSid) return error(400, 21603, "A 'From' phone number is required.");
    if (!form.Body && !form.MediaUrl && !form.ContentSid) return error(400, 21602, 'Message body is required.');
    if (form.To.replace(/^whatsapp:/, '') === INVALID_NUMBER) {
      return error(400, 21211, `The 'To' number ${form.To} is not a valid phone number.`);
    }

    const sid = `SM${randomBytes(16).toString('hex')}`;
    const date = rfc2822(new Date());
    const message: TwilioFakeMessage = {
      sid,
      account_sid: pathSid,
      to: form.To,
      from: form.From ?? null,
      body: form.Body ?? '',
      status: 'queued',
      status_callback: form.StatusCallback ?? null,
    };
    fake.messages.push(message);
    const hold = holds.shift();
    hold?.accept(message);
    const answer: Answer = {
      status: 201,
      body: {
        account_sid: pathSid,
        api_version: '2010-04-01',
        body: message.body,
        date_created: date,
        date_sent: null,
        date_updated: date,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: message.from,
        messaging_service_sid: form.MessagingServiceSid ?? null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: 'USD',
        sid,
        status: 'queued',
        subresource_uris: { media: `/2010-04-01/Accounts/${pathSid}/Messages/${sid}/Media.json` },
        to: message.to,
        uri: `/2010-04-01/Accounts/${pathSid}/Messages/${sid}.json`,
      },
    };
    if (hold) held.set(answer, hold.released);
    return answer;
  }

  const fake: TwilioFake = {
    url: server.url,
    requests: [],
    messages: [],
    delayMs: options.delayMs ?? 0,
    addAccount(account) {
      accounts.set(account.accountSid, account.authToken);
    },
    failNext(n, failure) {
      for (let i = 0; i < n; i++) failures.push(failure);
    },
    failAccount(accountSid, failure) {
      if (failure) accountFailures.set(accountSid, failure);
      else accountFailures.delete(accountSid);
    },
    holdNext() {
      let accept!: (message: TwilioFakeMessage) => void;
      let release!: () => void;
      const accepted = new Promise<TwilioFakeMessage>((resolve) => (accept = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.push({ accept, released });
      return { accepted, release };
    },
    reset() {
      holds.length = 0;
      fake.requests.length = 0;
      fake.messages.length = 0;
      failures.length = 0;
      accountFailures.clear();
      fake.delayMs = 0;
    },
    close: () => server.close(),
  };
  return fake;
}

function error(status: number, code: number | undefined, message: string): Answer {
  return {
    status,
    body: {
      code: code ?? null,
      message,
      more_info: code ? `https://www.twilio.com/docs/errors/${code}` : null,
      status,
    },
  };
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Too Many Requests';
  if (status === 503) return 'Service Unavailable';
  if (status >= 500) return 'Internal Server Error';
  return 'Bad Request';
}

function send(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}

function basicAuth(header: string | undefined): { user: string; password: string } | null {
  const m = /^Basic (.+)$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Twilio's date format: "Thu, 30 Jul 2015 20:12:31 +0000". */
function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}
