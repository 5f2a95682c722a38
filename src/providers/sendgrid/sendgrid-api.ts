// @sendgrid/mail clients: one MailService per API key, endpoint and timeout, reused across
// sends. The package's default export is a process-wide singleton whose key is global state;
// a MailService of its own per gateway keeps one tenant's key off another tenant's mail.
// SENDGRID_API_BASE_URL moves the scheme/host/port only; the SDK's path (/v3/mail/send) stays.
import { Client } from '@sendgrid/client';
import { MailService } from '@sendgrid/mail';
import { LRUCache } from 'lru-cache';

export interface SendgridApiOptions {
  apiKey: string;
  /** e.g. http://127.0.0.1:4020; unset: SendGrid's public endpoint. */
  baseUrl?: string;
  timeoutMs: number;
}

// Bounded so the services of rotated keys and deleted gateways do not pile up.
const services = new LRUCache<string, MailService, { apiKey: string; origin?: string; timeoutMs: number }>({
  max: 500,
  memoMethod: (_key, _stale, { context: { apiKey, origin, timeoutMs } }) => {
    // The HTTP client is made here rather than reached through the service: MailService's
    // typings do not expose its client.
    const client = new Client();
    // setApiKey also resets the base URL (to the global region's), so the override comes after it.
    client.setApiKey(apiKey);
    if (origin) client.setDefaultRequest('baseUrl', `${origin}/`);
    const service = new MailService();
    service.setClient(client);
    // The SDK never retries on its own: a job is one attempt, and retries are Herald's.
    service.setTimeout(timeoutMs);
    return service;
  },
});

/** The cached MailService for this key, endpoint and timeout. */
export function sendgridMailService(options: SendgridApiOptions): MailService {
  const origin = options.baseUrl ? new URL(options.baseUrl).origin : undefined;
  const context = { apiKey: options.apiKey, origin, timeoutMs: options.timeoutMs };
  return services.memo(JSON.stringify(context), { context });
}
