// A local stand-in for SendGrid's v3 Mail Send API (POST /v3/mail/send), answering as
// SendGrid documents: Bearer API keys, JSON bodies checked field by field, errors as
// `{ errors: [{ message, field, help }] }`, 202 with an empty body and X-Message-Id on
// success, X-RateLimit-* headers on 429. Tests point SENDGRID_API_BASE_URL
// (baseUrls.sendgrid) at `url`.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FakeAnswer, startHttpFake } from './http-fake.js';

/** A programmed answer: an HTTP error in SendGrid's shape, optionally late. */
export interface SendgridFakeFailure {
  status: number;
  message?: string;
  /** 429: the X-RateLimit-Reset header, epoch seconds; default a minute from now. */
  rateLimitReset?: number;
  delayMs?: number;
}

export interface SendgridFakeRequest {
  method: string;
  path: string;
  /** The Bearer token sent, whether or not it was right; null without one. */
  authKey: string | null;
  /** The parsed JSON body; null when it was not JSON. */
  body: SendgridMailBody | null;
  headers: IncomingMessage['headers'];
  /** What the fake answered. */
  status: number;
  /** The X-Message-Id given, for accepted (202) requests. */
  messageId: string | null;
}

/** The v3 mail/send body, as far as the fake reads it. */
export interface SendgridMailBody {
  personalizations?: Array<{ to?: Array<{ email?: string; name?: string }>; subject?: string; custom_args?: Record<string, unknown> }>;
  from?: { email?: string; name?: string };
  subject?: string;
  content?: Array<{ type?: string; value?: string }>;
  custom_args?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface SendgridFake {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request received, in order. */
  requests: SendgridFakeRequest[];
  /** Delay before every answer (ms); programmed failures may add their own. */
  delayMs: number;
  addApiKey(key: string): void;
  /** The next `n` mail/send requests with a valid key get `failure` instead of being checked and accepted. */
  failNext(n: number, failure: SendgridFakeFailure): void;
  /** Forgets requests, programmed failures and the delay; keys stay. */
  reset(): void;
  close(): Promise<void>;
}

export const MAIL_SEND_PATH = '/v3/mail/send';
const HELP = 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html';
// SendGrid's own check is looser than RFC 5322 but refuses anything without local@domain.tld.
const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/** A well-formed key: "SG." then a 22- and a 43-character base64url part, as SendGrid issues them. */
export function fakeSendgridKey(): string {
  return `SG.${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

export async function startSendgridFake(options: { apiKeys?: string[]; delayMs?: number } = {}): Promise<SendgridFake> {
  const keys = new Set(options.apiKeys ?? []);
  const failures: SendgridFakeFailure[] = [];

  const server = await startHttpFake(
    (req, raw) => {
      const path = (req.url ?? '/').split('?')[0];
      let body: SendgridMailBody | null;
      try {
        const parsed: unknown = JSON.parse(raw);
        body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as SendgridMailBody) : null;
      } catch {
        body = null;
      }
      const authKey = bearer(req.headers.authorization);
      const answer = handle(req.method ?? '', path, authKey, body);
      fake.requests.push({
        method: req.method ?? '',
        path,
        authKey,
        body,
        headers: req.headers,
        status: answer.status,
        messageId: answer.headers?.['x-message-id'] ?? null,
      });
      return answer;
    },
    { delayMs: () => fake.delayMs, send },
  );

  function handle(method: string, path: string, authKey: string | null, body: SendgridMailBody | null): Answer {
    if (path !== MAIL_SEND_PATH || method !== 'POST') return error(404, 'resource not found', null);
    if (authKey === null || !keys.has(authKey)) {
      return error(401, 'The provided authorization grant is invalid, expired, or revoked', null);
    }
    const failure = failures.shift();
    if (failure) return { ...programmed(failure), delayMs: failure.delayMs };
    if (body === null) return error(400, 'Bad Request', null);
    const problem = validate(body);
    if (problem) return error(400, problem.message, problem.field);
    return { status: 202, body: null, headers: { 'x-message-id': randomBytes(16).toString('base64url') } };
  }

  const fake: SendgridFake = {
    url: server.url,
    requests: [],
    delayMs: options.delayMs ?? 0,
    addApiKey(key) {
      keys.add(key);
    },
    failNext(n, failure) {
      for (let i = 0; i < n; i++) failures.push(failure);
    },
    reset() {
      fake.requests.length = 0;
      failures.length = 0;
      fake.delayMs = 0;
    },
    close: () => server.close(),
  };
  return fake;
}

/** The first thing SendGrid would refuse in this body, named by its field path. */
function validate(body: SendgridMailBody): { message: string; field: string } | null {
  const { personalizations, from, content } = body;
  if (!Array.isArray(personalizations) || personalizations.length === 0) {
    return { field: 'personalizations', message: 'The personalizations field is required and must have at least one personalization.' };
  }
  for (const [i, p] of personalizations.entries()) {
    if (!Array.isArray(p?.to) || p.to.length === 0) {
      return {
        field: `personalizations.${i}.to`,
        message:
          'The to array is required for all personalization objects, and must have at least one object with a non-empty email address.',
      };
    }
    for (const [j, to] of p.to.entries()) {
      if (typeof to?.email !== 'string' || !EMAIL.test(to.email)) {
        return { field: `personalizations.${i}.to.${j}.email`, message: 'Does not contain a valid address.' };
      }
    }
  }
  if (typeof from?.email !== 'string' || from.email === '') {
    return {
      field: 'from.email',
      message:
        'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.',
    };
  }
  if (!EMAIL.test(from.email)) return { field: 'from.email', message: 'Does not contain a valid address.' };
  const subjectEverywhere = personalizations.every((p) => typeof p.subject === 'string' && p.subject !== '');
  if (!subjectEverywhere && (typeof body.subject !== 'string' || body.subject === '')) {
    return {
      field: 'subject',
      message:
        'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.',
    };
  }
  if (!Array.isArray(content) || content.length === 0) {
    return {
      field: 'content',
      message:
        'Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.',
    };
  }
  for (const [i, c] of content.entries()) {
    if (typeof c?.type !== 'string' || c.type === '') return { field: `content.${i}.type`, message: 'The content type must be provided.' };
    if (typeof c.value !== 'string' || c.value === '') {
      return { field: `content.${i}.value`, message: 'The content value must be a string at least one character in length.' };
    }
  }
  const plain = content.findIndex((c) => c.type === 'text/plain');
  if (plain > 0) return { field: 'content.0.type', message: 'If present, text/plain content must be first, followed by text/html.' };
  for (const args of [body.custom_args, ...personalizations.map((p) => p.custom_args)]) {
    if (args !== undefined && (typeof args !== 'object' || args === null || Object.values(args).some((v) => typeof v !== 'string'))) {
      return { field: 'custom_args', message: 'Custom args must be an object of string values.' };
    }
  }
  return null;
}

/** body null: an empty body. */
type Answer = FakeAnswer;

function error(status: number, message: string, field: string | null): Answer {
  return { status, body: { errors: [{ message, field, help: field ? `${HELP}#message.${field}` : null }] } };
}

function programmed(failure: SendgridFakeFailure): Answer {
  const answer = error(failure.status, failure.message ?? defaultMessage(failure.status), null);
  if (failure.status !== 429) return answer;
  const reset = failure.rateLimitReset ?? Math.floor(Date.now() / 1000) + 60;
  return { ...answer, headers: { 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } };
}

function defaultMessage(status: number): string {
  if (status === 429) return 'too many requests';
  if (status === 413) return 'The JSON payload you have included in your request is too large.';
  if (status === 503) return 'Service Unavailable';
  if (status >= 500) return 'Internal Server Error';
  return 'Bad Request';
}

function send(res: ServerResponse, answer: Answer): void {
  if (answer.body === null) {
    res.writeHead(answer.status, { ...answer.headers, 'content-length': '0' });
    res.end();
    return;
  }
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}

function bearer(header: string | undefined): string | null {
  const m = /^Bearer (.+)$/i.exec(header ?? '');
  return m ? m[1] : null;
}
