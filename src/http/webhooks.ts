// Provider callbacks. They live in their own Fastify scope: only here are form bodies
// (Twilio) parsed, and SendGrid's JSON is kept raw, since its signature covers the bytes.
// Anyone can reach them, so each route has a body limit and a per-address rate limit
// (@fastify/rate-limit, registered by the app with global: false).
import type { FastifyInstance } from 'fastify';
import type { ReceiptsService } from '../modules/receipts/receipts.service.js';
import type { InboundService } from '../modules/suppressions/inbound.service.js';

/** Largest webhook body: SendGrid posts batches well under this, Twilio a small form. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;
/**
 * Per address: generous, since Twilio and SendGrid post from a few addresses at the rate
 * Herald sends (Twilio: up to three callbacks a message), yet a bound on a flood.
 */
export const WEBHOOK_RATE_LIMIT = { max: 3_000, timeWindow: 10_000 };

export function registerWebhooks(app: FastifyInstance, receipts: ReceiptsService, inbound: InboundService, publicUrl: string): void {
  receipts.announce();
  const routeOptions = { bodyLimit: WEBHOOK_BODY_LIMIT, config: { rateLimit: WEBHOOK_RATE_LIMIT } };
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    scope.post<{ Body: Record<string, string> }>('/webhooks/twilio/status', routeOptions, async (request, reply) => {
      if (typeof request.body !== 'object' || request.body === null)
        return reply.code(400).send({ ok: false, error: 'expected a form body' });
      // Twilio signs the URL it called: the public base plus the path and query as sent.
      const url = `${publicUrl}${request.url}`;
      const signature = request.headers['x-twilio-signature'];
      const answer = await receipts.twilioStatus(request.body, typeof signature === 'string' ? signature : undefined, url);
      return reply.code(answer.status).send(answer.body);
    });

    // Messages sent to a tenant's Twilio number: STOP, START and HELP (modules/suppressions/inbound.service.ts).
    scope.post<{ Body: Record<string, string> }>('/webhooks/twilio/inbound', routeOptions, async (request, reply) => {
      if (typeof request.body !== 'object' || request.body === null)
        return reply.code(400).send({ ok: false, error: 'expected a form body' });
      const signature = request.headers['x-twilio-signature'];
      const answer = await inbound.twilioInbound(
        request.body,
        typeof signature === 'string' ? signature : undefined,
        `${publicUrl}${request.url}`,
      );
      if (answer.status !== 200) return reply.code(answer.status).send({ ok: false, error: answer.body });
      return reply.code(200).type('text/xml; charset=utf-8').send(answer.body);
    });

    scope.post<{ Body: string }>('/webhooks/sendgrid/events', routeOptions, async (request, reply) => {
      if (typeof request.body !== 'string') return reply.code(415).send({ ok: false, error: 'expected application/json' });
      const header = (name: string) => {
        const value = request.headers[name];
        return typeof value === 'string' ? value : undefined;
      };
      const answer = await receipts.sendgridEvents(
        request.body,
        header('x-twilio-email-event-webhook-signature'),
        header('x-twilio-email-event-webhook-timestamp'),
      );
      return reply.code(answer.status).send(answer.body);
    });
  });
}
