import type { ClientRequest, IncomingMessage } from 'node:http';
import { ApiPartialResponseError, ApiRequestError, ApiResponseError } from 'twitter-api-v2';
import { describe, expect, it } from 'vitest';
import { lookupProblem, problemKind, resetAt, toProviderError, userNotFound } from './transform.js';
import { rebase } from './twitter-api.js';

const now = new Date('2025-01-01T12:00:00Z');
const epoch = (iso: string) => Date.parse(iso) / 1000;
const DM = { operation: 'dm' } as const;
const LOOKUP = { operation: 'lookup', handle: 'jane_doe' } as const;

/** The errors the SDK throws, built by the SDK's own classes. */
function responseError(code: number, data: unknown, headers: Record<string, string> = {}) {
  const rateLimit = headers['x-rate-limit-limit']
    ? {
        limit: Number(headers['x-rate-limit-limit']),
        remaining: Number(headers['x-rate-limit-remaining']),
        reset: Number(headers['x-rate-limit-reset']),
      }
    : undefined;
  return new ApiResponseError(`Request failed with code ${code}`, {
    code,
    data: data as never,
    headers,
    rateLimit,
    request: {} as ClientRequest,
    response: {} as IncomingMessage,
  });
}

function requestError(cause: Error) {
  // As twitter-api-v2 1.29 builds it (request-handler.helper.js: `{ request, error }`).
  return new ApiRequestError('Request failed.', { request: {} as ClientRequest, error: cause });
}

const nodeError = (code: string, message: string) => Object.assign(new Error(message), { code });
const problem = (status: number, title: string, detail: string, type = 'about:blank') => ({ title, detail, type, status });

describe('X error mapping', () => {
  it('fails closed DMs permanently, saying so in words', () => {
    const e = responseError(403, problem(403, 'Forbidden', 'You are not permitted to send Direct Messages to this user.'));
    expect(toProviderError(e, DM, now)).toEqual({
      ok: false,
      kind: 'permanent',
      code: '403',
      message:
        'the recipient does not accept Direct Messages from this account (X: You are not permitted to send Direct Messages to this user.)',
    });
    // A bare "Forbidden" adds nothing to the sentence.
    expect(toProviderError(responseError(403, problem(403, 'Forbidden', 'Forbidden')), DM, now).message).toBe(
      'the recipient does not accept Direct Messages from this account',
    );
  });

  it("keeps X's problem type as the code, and tells an app without DM permission apart", () => {
    const e = responseError(
      403,
      problem(
        403,
        'Unsupported Authentication',
        'Your client app is not configured with the appropriate oauth1 app permissions for this endpoint.',
        'https://api.twitter.com/2/problems/oauth1-permissions',
      ),
    );
    expect(toProviderError(e, DM, now)).toMatchObject({ kind: 'permanent', code: 'oauth1-permissions' });
    expect(toProviderError(e, DM, now).message).toMatch(/^the gateway's X app may not send Direct Messages/);
  });

  it('fails bad credentials permanently without quoting anything of the request', () => {
    const e = responseError(401, problem(401, 'Unauthorized', 'Unauthorized'));
    const result = toProviderError(e, DM, now);
    expect(result).toMatchObject({ ok: false, kind: 'permanent', code: '401' });
    expect(result.message).toMatch(/^X refused the gateway credentials \(HTTP 401\)/);
    expect(toProviderError(e, LOOKUP, now)).toMatchObject({ kind: 'permanent', code: '401' });
  });

  it('marks 429 as rate limited until x-rate-limit-reset (epoch seconds)', () => {
    const reset = epoch('2025-01-01T12:15:00Z');
    const e = responseError(429, problem(429, 'Too Many Requests', 'Too Many Requests'), {
      'x-rate-limit-limit': '15',
      'x-rate-limit-remaining': '0',
      'x-rate-limit-reset': String(reset),
    });
    expect(toProviderError(e, DM, now)).toEqual({
      ok: false,
      kind: 'rate_limited',
      code: '429',
      message: 'X rate limit reached; X takes requests again at 2025-01-01T12:15:00.000Z',
      retryAt: new Date('2025-01-01T12:15:00Z'),
    });
  });

  it('waits for the 24-hour limit when that is the one used up', () => {
    const e = {
      code: 429,
      data: problem(429, 'Too Many Requests', 'Too Many Requests'),
      rateLimit: {
        limit: 15,
        remaining: 14,
        reset: epoch('2025-01-01T12:15:00Z'),
        userDay: { limit: 1440, remaining: 0, reset: epoch('2025-01-02T03:00:00Z') },
      },
    };
    expect(toProviderError(e, DM, now).retryAt).toEqual(new Date('2025-01-02T03:00:00Z'));
  });

  it('reads the reset from the headers when the SDK gave no rateLimit, then Retry-After', () => {
    expect(resetAt({ headers: { 'X-Rate-Limit-Reset': String(epoch('2025-01-01T12:05:00Z')) } }, now)).toEqual(
      new Date('2025-01-01T12:05:00Z'),
    );
    expect(resetAt({ headers: { 'retry-after': '30' } }, now)).toEqual(new Date('2025-01-01T12:00:30Z'));
    expect(resetAt({ headers: {} }, now)).toBeUndefined();
    const noTime = toProviderError(responseError(429, undefined), DM, now);
    expect(noTime).toMatchObject({ kind: 'rate_limited', code: '429', message: 'X rate limit reached' });
    expect(noTime.retryAt).toBeUndefined();
  });

  it('marks a monthly usage cap as rate limited, keeping its type', () => {
    const e = responseError(
      429,
      problem(429, 'UsageCapExceeded', 'Usage cap exceeded: Monthly product cap', 'https://api.twitter.com/2/problems/usage-capped'),
      { 'x-rate-limit-limit': '15', 'x-rate-limit-remaining': '10', 'x-rate-limit-reset': String(epoch('2025-01-01T12:15:00Z')) },
    );
    expect(toProviderError(e, DM, now)).toMatchObject({
      kind: 'rate_limited',
      code: 'usage-capped',
      retryAt: new Date('2025-01-01T12:15:00Z'),
    });
  });

  it('retries server errors', () => {
    expect(toProviderError(responseError(503, problem(503, 'Service Unavailable', 'Service Unavailable')), DM, now)).toEqual({
      ok: false,
      kind: 'transient',
      code: '503',
      message: 'X is unavailable (HTTP 503)',
    });
    expect(toProviderError(responseError(500, 'Internal error'), DM, now)).toMatchObject({ kind: 'transient', code: '500' });
    expect(toProviderError(responseError(502, '<html>bad gateway</html>'), LOOKUP, now)).toMatchObject({ kind: 'transient', code: '502' });
  });

  it('retries when X cannot be reached', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']) {
      expect(toProviderError(requestError(nodeError(code, `connect ${code} 127.0.0.1:9`)), DM, now)).toMatchObject({
        ok: false,
        kind: 'transient',
        code,
      });
    }
    expect(toProviderError(requestError(nodeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9')), DM, now).message).toBe(
      'could not reach X (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9)',
    );
  });

  it("finds the cause although the SDK's requestError getter loses it", () => {
    const e = requestError(nodeError('ECONNRESET', 'socket hang up'));
    expect(e.requestError).toBeUndefined(); // twitter-api-v2 1.29 as shipped
    expect(toProviderError(e, DM, now)).toMatchObject({ kind: 'transient', code: 'ECONNRESET' });
  });

  it('retries a timeout', () => {
    expect(toProviderError(requestError(new Error('Request timeout.')), DM, now)).toEqual({
      ok: false,
      kind: 'transient',
      code: 'ETIMEDOUT',
      message: 'X did not answer in time',
    });
    expect(toProviderError(requestError(nodeError('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:443')), DM, now)).toMatchObject({
      code: 'ETIMEDOUT',
    });
    expect(toProviderError(requestError(new Error('Socket closed without any information.')), DM, now)).toMatchObject({
      kind: 'transient',
      code: 'ECONNRESET',
    });
  });

  it('retries an answer cut off halfway', () => {
    const e = new ApiPartialResponseError('Request failed with partial response with HTTP code 201 (parse error)', {
      request: {} as ClientRequest,
      response: { statusCode: 201 } as IncomingMessage,
      responseError: new SyntaxError('Unexpected end of JSON input'),
      rawContent: '{"data":{"dm_con',
    });
    expect(toProviderError(e, DM, now)).toMatchObject({ kind: 'transient', code: 'PARTIAL_RESPONSE' });
  });

  it('maps an unknown handle, by 404 or by inline error, to USER_NOT_FOUND', () => {
    expect(toProviderError(responseError(404, problem(404, 'Not Found Error', 'Could not find user')), LOOKUP, now)).toEqual(
      userNotFound('jane_doe'),
    );
    expect(userNotFound('jane_doe')).toEqual({ ok: false, kind: 'permanent', code: 'USER_NOT_FOUND', message: 'no X account @jane_doe' });
    expect(
      lookupProblem(
        [
          {
            title: 'Not Found Error',
            detail: 'Could not find user with username: [jane_doe].',
            type: 'https://api.twitter.com/2/problems/resource-not-found',
          },
        ],
        'jane_doe',
      ),
    ).toEqual(userNotFound('jane_doe'));
    expect(lookupProblem(undefined, 'jane_doe')).toEqual(userNotFound('jane_doe'));
  });

  it('fails a suspended account permanently, with X’s words', () => {
    const result = lookupProblem(
      [
        {
          title: 'Forbidden',
          detail: 'User has been suspended: [jane_doe].',
          type: 'https://api.twitter.com/2/problems/resource-unavailable',
        },
      ],
      'jane_doe',
    );
    expect(result).toEqual({
      ok: false,
      kind: 'permanent',
      code: 'resource-unavailable',
      message: 'X account @jane_doe cannot be messaged: User has been suspended: [jane_doe].',
    });
  });

  it('fails other refusals permanently with the status and detail', () => {
    const e = responseError(400, {
      errors: [{ message: 'text must be a non-empty string' }],
      title: 'Invalid Request',
      detail: 'One or more parameters to your request was invalid.',
      type: 'https://api.twitter.com/2/problems/invalid-request',
    });
    expect(toProviderError(e, DM, now)).toEqual({
      ok: false,
      kind: 'permanent',
      code: 'invalid-request',
      message: 'X refused the Direct Message (HTTP 400): One or more parameters to your request was invalid.',
    });
    expect(
      toProviderError(responseError(404, problem(404, 'Not Found Error', 'Could not find user with participant_id: [1].')), DM, now),
    ).toMatchObject({
      kind: 'permanent',
      message: "X has no account with the recipient's user id (Could not find user with participant_id: [1].)",
    });
  });

  it('retries anything it does not recognise', () => {
    expect(toProviderError(new Error('boom'), DM, now)).toEqual({
      ok: false,
      kind: 'transient',
      code: 'UNKNOWN',
      message: 'unexpected error calling X: boom',
    });
    expect(toProviderError(undefined, DM, now)).toMatchObject({ kind: 'transient', code: 'UNKNOWN' });
  });

  it('names problem types by their last part, whichever X domain they use', () => {
    expect(problemKind('https://api.twitter.com/2/problems/resource-not-found')).toBe('resource-not-found');
    expect(problemKind('https://developer.x.com/en/support/x-api/error-troubleshooting#usage-capped')).toBe('usage-capped');
    expect(problemKind('about:blank')).toBeUndefined();
    expect(problemKind(undefined)).toBeUndefined();
  });
});

describe('X base URL', () => {
  it('replaces scheme, host and port and keeps the documented path and its placeholders', () => {
    expect(rebase('https://api.x.com/2/users/by/username/:username', 'http://127.0.0.1:4010')).toBe(
      'http://127.0.0.1:4010/2/users/by/username/:username',
    );
    expect(rebase('https://api.x.com/2/dm_conversations/with/:participant_id/messages', 'https://edge.example.com')).toBe(
      'https://edge.example.com/2/dm_conversations/with/:participant_id/messages',
    );
    expect(rebase('api.x.com/2/users/me?user.fields=id', 'http://localhost:9')).toBe('http://localhost:9/2/users/me?user.fields=id');
  });
});
