// Delivery receipts: providers tell us what happened after they accepted a message.
// Every receipt is checked against the provider's signature before it can change
// anything, and applied through the lifecycle guard, so it only ever moves a message
// forward (a late "sent" never undoes DELIVERED). A receipt may overtake the worker's own
// SENT write: Twilio's callback URL names Herald's message, so it is applied even before
// the provider's id is known here.
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Database, Executor } from '../../db/client.js';
import { webhookEvents } from '../../db/schema/index.js';
import type { SuppressionSource } from '../../domain/enums.js';
import type { Metrics } from '../../metrics.js';
import { STATUS_CALLBACK_MESSAGE_PARAM } from '../../providers/twilio/twilio-provider.js';
import type { SendgridCredentials, TwilioCredentials } from '../../providers/credentials.js';
import { type SendgridWebhookKey, sendgridSignatureHolds, sendgridWebhookKey } from '../../providers/sendgrid/signature.js';
import { twilioSignatureHolds } from '../../providers/twilio/signature.js';
import * as gatewaysQ from '../gateways/gateways.queries.js';
import type { GatewaysService } from '../gateways/gateways.service.js';
import { deliveryLogOf } from '../messages/delivery-log.js';
import * as q from '../messages/messages.queries.js';
import type { SuppressionsService } from '../suppressions/suppressions.service.js';
import { DEFAULT_TENANT_ID } from '../tenants/tenants.service.js';

// SendGrid's signed timestamps older (or newer) than this are refused as replays.
const MAX_SIGNATURE_AGE_S = 5 * 60;
/** Events per SendGrid request; SendGrid's own batches are far smaller. */
export const MAX_SENDGRID_EVENTS = 1_000;
/** Distinct gateway webhook keys tried per request (and converted keys kept). */
const MAX_SENDGRID_KEYS = 1_000;
const LOG_EVERY_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Twilio's delivery error codes in words a support person understands. */
const TWILIO_ERRORS: Record<string, string> = {
  '30001': 'the message queue overflowed at the carrier',
  '30002': 'the Twilio account was suspended',
  '30003': 'the destination handset is unreachable (switched off or out of coverage)',
  '30004': 'the message was blocked (the recipient may have opted out or blocked the sender)',
  '30005': 'the destination number is unknown or no longer in service',
  '30006': 'the destination is a landline or cannot receive SMS',
  '30007': 'the carrier filtered the message as spam or a violation',
  '30008': 'the carrier reported an unknown error',
  '30034': 'the sender number is not registered for A2P 10DLC messaging',
};

/**
 * The suppression a SendGrid event asks for: unsubscribes (global or from a group), spam
 * reports and hard bounces; a soft bounce ("blocked") is not one. The reason never quotes
 * SendGrid's own text, which may name the address.
 */
function sendgridOptOut(type: string, event: Record<string, unknown>): { source: SuppressionSource; reason: string } | undefined {
  switch (type) {
    case 'unsubscribe':
      return { source: 'PROVIDER_OPT_OUT', reason: 'SendGrid reported an unsubscribe' };
    case 'group_unsubscribe': {
      const group = typeof event.asm_group_id === 'number' ? ` from group ${event.asm_group_id}` : '';
      return { source: 'PROVIDER_OPT_OUT', reason: `SendGrid reported an unsubscribe${group}` };
    }
    case 'spamreport':
      return { source: 'SPAM_REPORT', reason: 'the recipient reported the e-mail as spam' };
    case 'bounce': {
      if (event.type !== 'bounce') return undefined;
      const status = typeof event.status === 'string' && /^\d\.\d{1,3}\.\d{1,3}$/.test(event.status) ? ` (${event.status})` : '';
      return { source: 'BOUNCE', reason: `SendGrid reported a hard bounce${status}` };
    }
    default:
      return undefined;
  }
}

/** A key a SendGrid request may be signed with, and whose messages its events may change. */
interface SendgridVerifier {
  key: SendgridWebhookKey;
  /** The environment's key: the default tenant's SendGrid messages. */
  defaultTenant: boolean;
  /** The SendGrid gateways carrying this key as their webhookPublicKey. */
  gatewayIds: string[];
}
interface SendgridScope {
  defaultTenant: boolean;
  gatewayIds: Set<string>;
}

/**
 * Warnings a flood could repeat (refused webhooks): one line per kind per 10 s, with the
 * number held back since the last one. Kinds are few (reasons, gateways), so the map stays small.
 */
class ThrottledLog {
  private readonly last = new LRUCache<string, { at: number; held: number }>({ max: 1_000 });

  constructor(private readonly log: Logger) {}

  warn(kind: string, fields: Record<string, unknown>, msg: string, now = Date.now()): void {
    const seen = this.last.get(kind);
    if (seen && now - seen.at < LOG_EVERY_MS) {
      seen.held += 1;
      return;
    }
    this.last.set(kind, { at: now, held: 0 });
    this.log.warn({ ...fields, ...(seen?.held ? { heldBack: seen.held } : {}) }, msg);
  }
}

export interface WebhookAnswer {
  status: number;
  body: { ok: boolean; error?: string };
}

export class ReceiptsService {
  private readonly envSendgridKey: SendgridWebhookKey | undefined;
  private readonly convertedKeys = new LRUCache<string, SendgridWebhookKey>({ max: MAX_SENDGRID_KEYS });
  private readonly throttled: ThrottledLog;

  constructor(
    private readonly db: Database,
    private readonly gateways: GatewaysService,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    sendgridPublicKey: string | undefined,
    private readonly suppressions: SuppressionsService,
  ) {
    this.envSendgridKey = sendgridPublicKey ? sendgridWebhookKey(sendgridPublicKey) : undefined;
    this.throttled = new ThrottledLog(log);
  }

  /**
   * A Twilio status callback: form fields, signed with the sending gateway's auth token over
   * `url`, the full URL Twilio called. Sends made by this version name the message in that
   * URL (`?m=<id>`, covered by the signature); older sends are found by their MessageSid.
   */
  async twilioStatus(params: Record<string, string>, signature: string | undefined, url: string): Promise<WebhookAnswer> {
    if (!signature) return this.refuse('twilio', 'missing X-Twilio-Signature');
    const sid = params.MessageSid ?? params.SmsSid;
    const heraldId = new URL(url).searchParams.get(STATUS_CALLBACK_MESSAGE_PARAM);
    let message: q.MessageRow | undefined;
    if (heraldId !== null) message = UUID.test(heraldId) ? await q.findMessageAnyTenant(this.db, heraldId) : undefined;
    else message = sid ? await q.findByProviderMessageId(this.db, sid) : undefined;
    if (!message) {
      // Twilio retries anything but 2xx; a receipt for a message we do not know is not news.
      this.log.info({ messageSid: sid?.slice(0, 64), messageId: heraldId?.slice(0, 64) }, 'Twilio status callback for an unknown message');
      this.metrics.receipts.inc({ provider: 'twilio', outcome: 'unknown_message' });
      return { status: 200, body: { ok: true } };
    }
    const gateway = message.gatewayId ? await gatewaysQ.findGateway(this.db, message.tenantId, message.gatewayId) : undefined;
    const credentials = gateway?.provider === 'TWILIO' ? (this.gateways.credentialsOf(gateway) as TwilioCredentials | null) : null;
    if (!credentials || !twilioSignatureHolds(credentials.authToken, signature, url, params)) {
      return this.refuse('twilio', 'X-Twilio-Signature does not match');
    }

    // Found by id, the SID is checked against the send we recorded. While SENDING, the
    // recorded one (if any) is an earlier attempt's: this attempt's answer is not in yet,
    // and the callback's SID is kept with the status it brings.
    let keepSid: string | undefined;
    if (heraldId !== null) {
      if (!sid) return { status: 400, body: { ok: false, error: 'MessageSid is missing' } };
      if (message.status === 'SENDING') keepSid = sid;
      else if (message.providerMessageId !== null && message.providerMessageId !== sid) {
        this.log.warn(
          { messageId: message.id, messageSid: sid.slice(0, 64), providerMessageId: message.providerMessageId },
          'Twilio status callback for another send than the one recorded; ignored',
        );
        this.metrics.receipts.inc({ provider: 'twilio', outcome: 'other_send' });
        return { status: 200, body: { ok: true } };
      }
    }

    const status = params.MessageStatus ?? params.SmsStatus;
    if (status === 'delivered') {
      await this.apply(message, 'DELIVERED', 'twilio', null, null, keepSid);
    } else if (status === 'undelivered' || status === 'failed') {
      const code = params.ErrorCode || null;
      const reason = `Twilio reported the message ${status}: ${code ? (TWILIO_ERRORS[code] ?? `error ${code}`) : 'no reason given'}`;
      await this.apply(message, 'FAILED', 'twilio', code, reason, keepSid);
    } else {
      this.metrics.receipts.inc({ provider: 'twilio', outcome: 'no_change' });
    }
    return { status: 200, body: { ok: true } };
  }

  /** Says once, at start, what SendGrid events this process accepts. */
  announce(): void {
    if (!this.envSendgridKey) {
      this.log.warn(
        "SENDGRID_WEBHOOK_PUBLIC_KEY is not set: SendGrid events are refused unless signed with the webhookPublicKey of a tenant's SendGrid gateway",
      );
    }
  }

  /**
   * A batch of SendGrid events. The ECDSA signature over timestamp + raw body must hold
   * under SENDGRID_WEBHOOK_PUBLIC_KEY (the default tenant's) or a SendGrid gateway's own
   * webhookPublicKey, and the timestamp be fresh. The key that verified decides which
   * messages the events may touch: EMAIL messages sent through that key's SendGrid gateways.
   */
  async sendgridEvents(
    rawBody: string,
    signature: string | undefined,
    timestamp: string | undefined,
    now = Date.now(),
  ): Promise<WebhookAnswer> {
    const verifiers = await this.sendgridVerifiers();
    if (verifiers.length === 0) {
      this.metrics.receipts.inc({ provider: 'sendgrid', outcome: 'rejected' });
      this.throttled.warn(
        'sendgrid:no-key',
        {},
        'SendGrid events refused: no verification key is configured (SENDGRID_WEBHOOK_PUBLIC_KEY, or webhookPublicKey in a SendGrid gateway)',
      );
      return { status: 403, body: { ok: false, error: 'SendGrid events are refused: no verification key is configured' } };
    }
    if (!signature || !timestamp) return this.refuse('sendgrid', 'missing signature headers');
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > MAX_SIGNATURE_AGE_S) {
      return this.refuse('sendgrid', 'stale or malformed signature timestamp');
    }
    const scope: SendgridScope = { defaultTenant: false, gatewayIds: new Set() };
    for (const verifier of verifiers) {
      if (!sendgridSignatureHolds(verifier.key, rawBody, signature, timestamp)) continue;
      scope.defaultTenant ||= verifier.defaultTenant;
      for (const id of verifier.gatewayIds) scope.gatewayIds.add(id);
    }
    if (!scope.defaultTenant && scope.gatewayIds.size === 0) return this.refuse('sendgrid', 'signature does not match');

    let events: unknown;
    try {
      events = JSON.parse(rawBody);
    } catch {
      return { status: 400, body: { ok: false, error: 'the body is not JSON' } };
    }
    if (!Array.isArray(events)) return { status: 400, body: { ok: false, error: 'the body must be a JSON array of events' } };
    if (events.length > MAX_SENDGRID_EVENTS) {
      return {
        status: 413,
        body: { ok: false, error: `at most ${MAX_SENDGRID_EVENTS} events per request; this one has ${events.length}` },
      };
    }

    // Each event is marked seen in the transaction that applies it: an event that could not
    // be applied stays unseen, and the non-2xx answer makes SendGrid send it again.
    let failures = 0;
    for (const event of events as Record<string, unknown>[]) {
      if (typeof event !== 'object' || event === null) continue;
      try {
        await this.sendgridEvent(event, scope);
      } catch (error) {
        failures += 1;
        this.metrics.receipts.inc({ provider: 'sendgrid', outcome: 'error' });
        this.log.error(
          { err: error, eventId: typeof event.sg_event_id === 'string' ? event.sg_event_id.slice(0, 200) : undefined },
          'SendGrid event not applied; SendGrid will send it again',
        );
      }
    }
    if (failures > 0) {
      return { status: 503, body: { ok: false, error: `${failures} event(s) could not be applied; send them again` } };
    }
    return { status: 200, body: { ok: true } };
  }

  /**
   * The keys a SendGrid request may be signed with: the environment's (default tenant), then
   * each distinct webhookPublicKey of the SendGrid gateways with the gateways it speaks for.
   * Converted keys are cached (bounded); credentials are opened through their own cache.
   */
  private async sendgridVerifiers(): Promise<SendgridVerifier[]> {
    const out: SendgridVerifier[] = [];
    if (this.envSendgridKey) out.push({ key: this.envSendgridKey, defaultTenant: true, gatewayIds: [] });
    const byKey = new Map<string, string[]>();
    for (const gateway of await gatewaysQ.gatewaysOfProvider(this.db, 'SENDGRID')) {
      let credentials: SendgridCredentials | null;
      try {
        credentials = this.gateways.credentialsOf(gateway) as SendgridCredentials | null;
      } catch (err) {
        this.throttled.warn(
          `sendgrid:unreadable:${gateway.id}`,
          { gatewayId: gateway.id, why: (err as Error).message },
          "a SendGrid gateway's credentials do not open; its webhook key is not tried",
        );
        continue;
      }
      const publicKey = credentials?.webhookPublicKey;
      if (!publicKey) continue;
      const ids = byKey.get(publicKey);
      if (ids) ids.push(gateway.id);
      else if (byKey.size < MAX_SENDGRID_KEYS) byKey.set(publicKey, [gateway.id]);
      else
        this.throttled.warn(
          'sendgrid:too-many-keys',
          { max: MAX_SENDGRID_KEYS },
          'more distinct SendGrid webhook keys than are tried per request; the rest are ignored',
        );
    }
    for (const [publicKey, gatewayIds] of byKey) {
      let key = this.convertedKeys.get(publicKey);
      if (!key) {
        key = sendgridWebhookKey(publicKey);
        this.convertedKeys.set(publicKey, key);
      }
      out.push({ key, defaultTenant: false, gatewayIds });
    }
    return out;
  }

  private async sendgridEvent(event: Record<string, unknown>, scope: SendgridScope): Promise<void> {
    const eventId = typeof event.sg_event_id === 'string' ? event.sg_event_id : undefined;
    const now = new Date();
    const type = typeof event.event === 'string' ? event.event : '';
    const to = type === 'delivered' ? 'DELIVERED' : type === 'bounce' || type === 'dropped' ? 'FAILED' : undefined;
    const result = await this.db.transaction(async (tx) => {
      const message = await this.sendgridMessage(tx, event);
      if (!message) return 'unknown_message' as const;
      // Checked before the event is marked seen: a refused event must not use up its id.
      const refusal = await this.sendgridRefusal(tx, message, scope);
      if (refusal) {
        this.throttled.warn(
          `sendgrid:refused:${refusal}`,
          { messageId: message.id, why: refusal },
          'SendGrid event ignored: it may not change this message',
        );
        return 'refused' as const;
      }
      if (eventId && !(await this.firstTime(tx, 'sendgrid', eventId))) return 'duplicate' as const;
      const optOut = sendgridOptOut(type, event);
      if (optOut) await this.suppressions.providerOptOut(tx, message, optOut.reason, now, optOut.source);
      if (to === 'DELIVERED')
        return { message, changed: await this.transitionWithLog(tx, message, 'DELIVERED', 'sendgrid', null, null, now) };
      if (to === 'FAILED') {
        const why = typeof event.reason === 'string' ? event.reason.slice(0, 300) : 'no reason given';
        const reason = `SendGrid reported the e-mail ${type === 'bounce' ? 'bounced' : 'dropped'}: ${why}`;
        return { message, changed: await this.transitionWithLog(tx, message, 'FAILED', 'sendgrid', type, reason, now) };
      }
      return optOut ? ('suppressed' as const) : ('no_change' as const);
    });
    if (typeof result === 'string') this.metrics.receipts.inc({ provider: 'sendgrid', outcome: result });
    else this.count(result.message, result.changed, to!, 'sendgrid', now);
  }

  /** Why the verified request may not touch `message`, or undefined if it may. */
  private async sendgridRefusal(ex: Executor, message: q.MessageRow, scope: SendgridScope): Promise<string | undefined> {
    if (message.channel !== 'EMAIL') return `the message is ${message.channel}, not EMAIL`;
    const gateway = message.gatewayId ? await gatewaysQ.findGateway(ex, message.tenantId, message.gatewayId) : undefined;
    if (gateway?.provider !== 'SENDGRID') return 'the message was not sent through a SendGrid gateway';
    if (scope.gatewayIds.has(gateway.id)) return undefined;
    if (scope.defaultTenant && message.tenantId === DEFAULT_TENANT_ID) return undefined;
    return "the signing key is not this message's gateway's";
  }

  private async sendgridMessage(ex: Executor, event: Record<string, unknown>): Promise<q.MessageRow | undefined> {
    const heraldId = event.herald_message_id;
    if (typeof heraldId === 'string' && UUID.test(heraldId)) return q.findMessageAnyTenant(ex, heraldId);
    // sg_message_id is "<X-Message-Id>.<filter suffix>"; the first part is what we stored.
    const sgId = typeof event.sg_message_id === 'string' ? event.sg_message_id.split('.')[0] : undefined;
    return sgId ? q.findByProviderMessageId(ex, sgId) : undefined;
  }

  private async firstTime(ex: Executor, provider: string, eventId: string): Promise<boolean> {
    const inserted = await ex
      .insert(webhookEvents)
      .values({ provider, eventId: eventId.slice(0, 200) })
      .onConflictDoNothing()
      .returning({ eventId: webhookEvents.eventId });
    return inserted.length > 0;
  }

  /** Moves the message forward if the lifecycle allows, with a DeliveryLog; a no-op otherwise. */
  private async apply(
    message: q.MessageRow,
    to: 'DELIVERED' | 'FAILED',
    provider: string,
    code: string | null,
    reason: string | null,
    providerMessageId?: string,
  ): Promise<void> {
    const now = new Date();
    const changed = await this.db.transaction((tx) =>
      this.transitionWithLog(tx, message, to, provider, code, reason, now, providerMessageId),
    );
    this.count(message, changed, to, provider, now);
  }

  /** The guarded move and its log, in the caller's transaction; the row after it, or undefined if refused. */
  private async transitionWithLog(
    tx: Executor,
    message: q.MessageRow,
    to: 'DELIVERED' | 'FAILED',
    provider: string,
    code: string | null,
    reason: string | null,
    now: Date,
    providerMessageId?: string,
  ): Promise<q.MessageRow | undefined> {
    const row = await q.transition(
      tx,
      message.id,
      to === 'DELIVERED'
        ? { status: 'DELIVERED', deliveredAt: now, ...(providerMessageId ? { providerMessageId } : {}) }
        : { status: 'FAILED', errorCode: code, errorMessage: reason, ...(providerMessageId ? { providerMessageId } : {}) },
    );
    if (!row) return undefined;
    await q.insertLogs(tx, [
      deliveryLogOf(row, {
        outcome: to === 'DELIVERED' ? 'SUCCESS' : 'FAILURE',
        reason: to === 'DELIVERED' ? `${provider === 'twilio' ? 'Twilio' : 'SendGrid'} confirmed delivery` : reason,
        providerCode: code,
        attempt: null,
      }),
    ]);
    return row;
  }

  /** Metrics of an applied receipt, once its transaction committed. */
  private count(before: q.MessageRow, changed: q.MessageRow | undefined, to: 'DELIVERED' | 'FAILED', provider: string, now: Date): void {
    this.metrics.receipts.inc({ provider, outcome: changed ? to.toLowerCase() : 'no_change' });
    if (!changed) return;
    this.metrics.messages.inc({ channel: changed.channel, status: to });
    // Timed from SENT only: a receipt that overtook the worker has no send time yet (or an
    // earlier attempt's).
    if (to === 'DELIVERED' && before.status === 'SENT' && changed.sentAt) {
      this.metrics.deliveryLatency.observe({ channel: changed.channel }, (now.getTime() - changed.sentAt.getTime()) / 1000);
    }
  }

  private refuse(provider: string, why: string): WebhookAnswer {
    this.metrics.receipts.inc({ provider, outcome: 'rejected' });
    this.throttled.warn(`${provider}:${why}`, { provider, why }, 'webhook refused');
    return { status: 403, body: { ok: false, error: 'signature check failed' } };
  }
}
