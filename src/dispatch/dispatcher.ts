// One send attempt of one message: claim it under a row guard, call the provider,
// record the outcome with a DeliveryLog, and schedule the next attempt when the error
// is worth retrying. Every state change is a guarded transition, so a cancelled or
// already-sent message is never sent, and two workers never send the same attempt.
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import type { MessageStatusValue, ProviderValue } from '../db/schema/index.js';
import type { Metrics } from '../metrics.js';
import * as gatewaysQ from '../modules/gateways/gateways.queries.js';
import type { GatewaysService } from '../modules/gateways/gateways.service.js';
import * as q from '../modules/messages/messages.queries.js';
import type { Outbox } from '../modules/messages/messages.service.js';
import { uuidv7 } from '../lib/ids.js';
import type { Provider, ProviderError, SendResult } from '../providers/types.js';
import type { DispatchJob } from './queue.js';
import { type RetryPolicy, decide } from './retry-policy.js';

export interface DispatcherDeps {
  db: Database;
  gateways: GatewaysService;
  providerFor: (provider: ProviderValue) => Provider;
  outbox: Outbox;
  policy: RetryPolicy;
  metrics: Metrics;
  log: Logger;
}

export class Dispatcher {
  constructor(private readonly deps: DispatcherDeps) {}

  /**
   * `recovering`: the queue hands this job out again because its previous holder died
   * mid-attempt, so a message left SENDING by it may be taken over.
   */
  async dispatch(job: DispatchJob, recovering = false): Promise<void> {
    const { db, metrics, log } = this.deps;
    const from: MessageStatusValue[] = recovering ? ['SCHEDULED', 'QUEUED', 'SENDING'] : ['SCHEDULED', 'QUEUED'];
    const message = await q.claimForSending(db, job.messageId, from);
    if (!message) return; // cancelled, already sent, or not ours: nothing to do
    metrics.messages.inc({ channel: message.channel, status: 'SENDING' });

    const gateway = message.gatewayId ? await gatewaysQ.findGateway(db, message.tenantId, message.gatewayId) : undefined;
    if (!gateway || !gateway.enabled) {
      await this.fail(message, gateway, { ok: false, kind: 'permanent', code: 'GATEWAY_DISABLED', message: `gateway "${gateway?.name ?? 'unknown'}" is disabled` });
      return;
    }
    let credentials;
    try {
      credentials = this.deps.gateways.credentialsOf(gateway);
    } catch (err) {
      const reason = `gateway "${gateway.name}" credentials cannot be read: ${(err as Error).message}`;
      await this.fail(message, gateway, { ok: false, kind: 'permanent', code: 'CREDENTIALS_UNREADABLE', message: reason });
      return;
    }

    const started = performance.now();
    let result: SendResult;
    try {
      result = await this.deps.providerFor(gateway.provider).send(
        { id: message.id, channel: message.channel, destination: message.destination, body: message.body, subject: message.subject, htmlBody: message.htmlBody },
        { id: gateway.id, provider: gateway.provider, credentials },
      );
    } catch (err) {
      // An adapter should never throw; if one does, treat it as a hiccup, not a verdict.
      log.error({ err, messageId: message.id }, 'provider adapter threw');
      result = { ok: false, kind: 'transient', code: 'ADAPTER_ERROR', message: 'unexpected error while calling the provider' };
    }
    metrics.dispatchDuration.observe(
      { channel: message.channel, provider: gateway.provider, outcome: result.ok ? 'ok' : result.kind },
      (performance.now() - started) / 1000,
    );

    if (result.ok) {
      await this.succeed(message, gateway, result.providerMessageId);
      return;
    }
    const decision = decide(result, job.attempt, this.deps.policy);
    if (decision.action === 'fail') await this.fail(message, gateway, result, job.attempt);
    else await this.retryLater(message, gateway, result, job, decision.at);
  }

  private async succeed(message: q.MessageRow, gateway: gatewaysQ.GatewayRow, providerMessageId: string): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const sent = await q.transition(tx, message.id, ['SENDING'], { status: 'SENT', sentAt: new Date(), providerMessageId, errorCode: null, errorMessage: null });
      if (!sent) return;
      await q.insertLogs(tx, [this.log(message, gateway, 'SUCCESS', null)]);
    });
    this.deps.metrics.messages.inc({ channel: message.channel, status: 'SENT' });
  }

  private async fail(message: q.MessageRow, gateway: gatewaysQ.GatewayRow | undefined, error: ProviderError, attempts?: number): Promise<void> {
    const reason = error.kind === 'permanent' || attempts === undefined ? error.message : `gave up after ${attempts} attempts: ${error.message}`;
    await this.deps.db.transaction(async (tx) => {
      const failed = await q.transition(tx, message.id, ['SENDING'], { status: 'FAILED', errorCode: error.code, errorMessage: reason });
      if (!failed) return;
      await q.insertLogs(tx, [{ ...this.log(message, gateway, 'FAILURE', reason), providerCode: error.code }]);
    });
    this.deps.metrics.messages.inc({ channel: message.channel, status: 'FAILED' });
    this.deps.log.info({ messageId: message.id, code: error.code }, 'message failed');
  }

  private async retryLater(message: q.MessageRow, gateway: gatewaysQ.GatewayRow, error: ProviderError, job: DispatchJob, at: Date): Promise<void> {
    const reason = `attempt ${job.attempt} failed (${error.kind === 'rate_limited' ? 'rate limited' : 'temporary error'}): ${error.message}; retrying at ${at.toISOString()}`;
    await this.deps.db.transaction(async (tx) => {
      const queued = await q.transition(tx, message.id, ['SENDING'], { status: 'QUEUED', errorCode: error.code, errorMessage: error.message });
      if (!queued) return;
      await q.insertLogs(tx, [{ ...this.log(message, gateway, 'FAILURE', reason), providerCode: error.code }]);
      await this.deps.outbox.enqueue(tx, [{ messageId: message.id, startAfter: at, attempt: job.attempt + 1 }]);
    });
    this.deps.metrics.messages.inc({ channel: message.channel, status: 'QUEUED' });
  }

  private log(message: q.MessageRow, gateway: gatewaysQ.GatewayRow | undefined, outcome: 'SUCCESS' | 'FAILURE', reason: string | null): q.NewDeliveryLogRow {
    return {
      id: uuidv7(),
      tenantId: message.tenantId,
      messageId: message.id,
      recipientId: message.recipientId,
      gatewayId: gateway?.id ?? null,
      channel: message.channel,
      outcome,
      reason,
      attempt: message.attempts,
      orderId: message.orderId,
      orderStatus: message.orderStatus,
    };
  }
}
