// The one-click unsubscribe URL every e-mail names in List-Unsubscribe (RFC 8058). Mail
// clients POST `List-Unsubscribe=One-Click` to it; a person who follows the link gets a
// page with a button that POSTs the same. A GET never unsubscribes: mail scanners and link
// previews fetch every URL in a message. Anyone can reach it, so it is rate-limited per
// address like the provider webhooks, and whatever the token, the answer is a page, never
// an error of the server's.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SuppressionsService } from '../modules/suppressions/suppressions.service.js';
import { UNSUBSCRIBE_PATH } from '../modules/suppressions/suppressions.service.js';
import { WEBHOOK_RATE_LIMIT } from './webhooks.js';

/** A one-click body is a few bytes; a mail client sends nothing more. */
const UNSUBSCRIBE_BODY_LIMIT = 4 * 1024;

export function registerUnsubscribe(app: FastifyInstance, suppressions: SuppressionsService): void {
  const routeOptions = { bodyLimit: UNSUBSCRIBE_BODY_LIMIT, config: { rateLimit: WEBHOOK_RATE_LIMIT } };
  void app.register(async (scope) => {
    // Any content type (RFC 8058 names form data; clients vary): the body is not read.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, _body, done) => done(null, undefined));

    scope.get<{ Params: { token: string } }>(`${UNSUBSCRIBE_PATH}/:token`, routeOptions, async (request, reply) => {
      if (!suppressions.readToken(request.params.token)) return page(reply, 400, INVALID);
      const action = `${UNSUBSCRIBE_PATH}/${encodeURIComponent(request.params.token)}`;
      return page(
        reply,
        200,
        `<h1>Unsubscribe</h1><p>Stop receiving these e-mails at this address?</p>
<form method="post" action="${action}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
      );
    });

    scope.post<{ Params: { token: string } }>(`${UNSUBSCRIBE_PATH}/:token`, routeOptions, async (request, reply) => {
      const outcome = await suppressions.unsubscribeByToken(request.params.token);
      if (outcome === 'invalid') return page(reply, 400, INVALID);
      if (outcome === 'unknown') return page(reply, 404, '<h1>Not found</h1><p>This unsubscribe link is no longer valid.</p>');
      return page(reply, 200, '<h1>Unsubscribed</h1><p>This address will not receive these e-mails any more.</p>');
    });
  });
}

const INVALID = '<h1>Invalid link</h1><p>This unsubscribe link is not valid. Use the link in the e-mail as it was sent.</p>';

function page(reply: FastifyReply, status: number, body: string) {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head><body>${body}</body></html>`);
}
