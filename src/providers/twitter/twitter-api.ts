// twitter-api-v2 clients: one per app key/secret, access token/secret, endpoint and timeout,
// reused across sends so connections are kept alive. TWITTER_API_BASE_URL moves the
// scheme/host/port only; the documented paths (/2/users/by/username/:username,
// /2/dm_conversations/with/:participant_id/messages) stay.
import http from 'node:http';
import https from 'node:https';
import { TwitterApi, type ITwitterApiClientPlugin, type TwitterApiv2 } from 'twitter-api-v2';
import { LRUCache } from 'lru-cache';

export interface TwitterApiOptions {
  /** OAuth 1.0a user context of the sending account. */
  appKey: string;
  appSecret: string;
  accessToken: string;
  accessSecret: string;
  /** e.g. http://127.0.0.1:4010; unset: X's public endpoint (https://api.x.com). */
  baseUrl?: string;
  timeoutMs: number;
}

/**
 * A plugin that does what the SDK has no setting for. It runs before the SDK builds and
 * signs the request, so the OAuth 1.0a signature covers the URL actually called (the
 * base URL's origin with X's path), which is what a server at that address verifies.
 */
export function requestConfigPlugin(options: { origin?: string; timeoutMs: number }): ITwitterApiClientPlugin {
  return {
    onBeforeRequestConfig({ params }) {
      if (options.origin) params.url = rebase(params.url, options.origin);
      // The SDK has no client-wide timeout; per request it is an idle-socket timeout.
      params.timeout = options.timeoutMs;
    },
  };
}

/** The SDK's URL (`https://api.x.com/2/…/:username`, placeholders unfilled) on another origin. */
export function rebase(url: string, origin: string): string {
  const parsed = new URL(/^https?:\/\//i.test(url) ? url : `https://${url}`);
  return `${origin}${parsed.pathname}${parsed.search}`;
}

/** The origin of a base URL, refusing anything but http(s). */
export function originOf(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('the X API base URL must be http(s)');
  return url.origin;
}

const clients = new LRUCache<string, TwitterApiv2, TwitterApiOptions>({
  max: 500,
  memoMethod: (_key, _stale, { context: options }) => {
    const origin = options.baseUrl ? originOf(options.baseUrl) : undefined;
    // The SDK always calls https.request; for an http:// origin Node accepts that only
    // with a plain http.Agent, whose protocol then matches the URL's.
    const httpAgent = origin?.startsWith('http:') ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true });
    return new TwitterApi(
      {
        appKey: options.appKey,
        appSecret: options.appSecret,
        accessToken: options.accessToken,
        accessSecret: options.accessSecret,
      },
      { httpAgent, plugins: [requestConfigPlugin({ origin, timeoutMs: options.timeoutMs })] },
    ).v2;
  },
});

/**
 * The cached v2 client for these credentials, endpoint and timeout. Throws on a malformed
 * base URL. An evicted client's agent is not destroyed: a send may still be using it; its
 * idle keep-alive sockets close when the server drops them.
 */
export function twitterClient(options: TwitterApiOptions): TwitterApiv2 {
  const key = JSON.stringify([
    options.appKey,
    options.appSecret,
    options.accessToken,
    options.accessSecret,
    options.baseUrl,
    options.timeoutMs,
  ]);
  return clients.memo(key, { context: options });
}
