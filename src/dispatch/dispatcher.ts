// One send attempt of one message: claim it under a row guard, call the provider,
// record the outcome with a DeliveryLog, and schedule the next attempt when the error
// is worth retrying. Every state change is a guarded transition, so a cancelled or
// already-sent message is never sent, and two workers never send the same attempt.
//
// Once a provider has answered, its answer is the truth about that message: if the
// database cannot take it (connection lost, failover, statement timeout, a refusing
// trigger), the worker keeps it and writes it when the database answers again. A job
// the queue hands out again never takes over a SENDING message: only the sweep does
// (sweeper.ts), when no live worker can still be holding its outcome.
import type { Logger } from 'pino';
import type { Database, Executor } from '../db/client.js';
import { databaseErrorOf } from '../db/availability.js';
import type { ProviderValue } from '../db/schema/index.js';
import { ERASED } from '../domain/erasure.js';
import type { Metrics } from '../metrics.js';
import * as gatewaysQ from '../modules/gateways/gateways.queries.js';
import { deliveryLogOf } from '../modules/messages/delivery-log.js';
import * as q from '../modules/messages/messages.queries.js';
import type { Outbox } from './outbox.js';
import { naturalBatches } from '../lib/batching.js';
import * as recipientsQ from '../modules/recipients/recipients.queries.js';
import type { Credentials } from '../providers/credentials.js';
import type { GatewayForSend, Provider, ProviderError, SendResult } from '../providers/types.js';
import type { DispatchJob } from './jobs.js';
import type { HealthTracker } from './health.js';
import { type RetryPolicy, decide } from './retry-policy.js';
import type { Router } from './router.js';

// A slot or pause this close is taken as now: the queue's own start-up jitter is larger.
const SLOT_TOLERANCE_MS = 50;
// Longer than the queue's 1 s poll, short enough to hold a worker slot for.
const IN_PROCESS_WAIT_MS = 2_000;
const MAX_RATE_LIMIT_WAITS = 50;
// How often a kept outcome is offered to the database again: soon after it is back.
const RECORD_RETRY_FIRST_MS = 100;
export const RECORD_RETRY_MAX_MS = 1_000;

/**
 * The longest a live send can keep a message SENDING before its outcome is written,
 * database faults aside: a wait for the gateway's send slot, then at most two provider
 * calls (an X handle lookup, then the DM), each bounded by the send timeout.
 */
export function longestSendMs(sendTimeoutMs: number): number {
  return IN_PROCESS_WAIT_MS + 2 * sendTimeoutMs;
}

/** The suppression list as a send reads and writes it (SuppressionsService). */
export interface SendGuard {
  /** Whether the message's destination is listed for its category now. */
  isSuppressed(message: q.MessageRow): Promise<boolean>;
  /** The List-Unsubscribe headers of an e-mail; undefined for other channels. */
  unsubscribeHeaders(message: q.MessageRow): Record<string, string> | undefined;
  /** Lists the destination the provider reported opted out, in the caller's transaction. */
  providerOptOut(ex: Executor, message: q.MessageRow, reason: string): Promise<void>;
}

/** Opens a gateway's sealed credentials (GatewaysService, wired in herald.ts, with its cache). */
export interface CredentialsOpener {
  credentialsOf(gateway: gatewaysQ.GatewayRow): Credentials | null;
}

export interface DispatcherDeps {
  db: Database;
  /** Which gateway each attempt goes through (routing, failover, breakers). */
  router: Router;
  /** Each send's outcome, for its gateway's circuit breaker. */
  health: HealthTracker;
  gateways: CredentialsOpener;
  providerFor: (provider: ProviderValue) => Provider;
  outbox: Outbox;
  /** Checked before every provider call: a destination listed after its message was queued is not sent to. */
  suppressions: SendGuard;
  policy: RetryPolicy;
  metrics: Metrics;
  log: Logger;
}

export class Dispatcher {
  /** Messages whose provider outcome is known here but not yet written. */
  private readonly pending = new Map<string, string>();
  private stopping = false;
  private readonly stopped = new AbortController();
  /** When a statement of this worker last failed (ms since epoch), 0 if never. */
  private lastFailureAt = 0;

  // The sends a worker runs at once claim and record together: one statement (and one
  // commit) for the claims of a fetched batch, one for the SENT records that arrive
  // while another is out (lib/batching.ts).
  private readonly claim = naturalBatches((ids: string[]) => q.claimWithGateway(this.deps.db, ids), { maxInFlight: 1, maxWeight: 256 });
  private readonly recordSent = naturalBatches(
    async (sends: q.SentRecord[]) => {
      await q.recordSent(this.deps.db, sends);
      return sends.map(() => undefined);
    },
    { maxInFlight: 1, maxWeight: 256 },
  );

  constructor(private readonly deps: DispatcherDeps) {}

  /** True while this worker holds an outcome for the message that is not written yet. */
  isPending(messageId: string): boolean {
    return this.pending.has(messageId);
  }

  /** When a statement of this worker last failed (ms since epoch), 0 if never. */
  lastDatabaseFailureAt(): number {
    return this.lastFailureAt;
  }

  /**
   * Gives up on outcomes still unwritten (the process is going away): each is logged
   * with what the provider said, since after this the message's outcome is unknown to
   * the database and the sweep of another process will take it over.
   */
  stop(): void {
    this.stopping = true;
    this.stopped.abort();
  }

  /**
   * A job the queue hands out again (its holder died, or it expired) claims like any
   * other: a message left SENDING is not taken over here, but by the sweep.
   */
  async dispatch(job: DispatchJob): Promise<void> {
    const { metrics, log } = this.deps;
    let claimed;
    try {
      claimed = await this.claim(job.messageId);
    } catch (err) {
      this.lastFailureAt = Date.now();
      throw err;
    }
    if (!claimed) return; // cancelled, already sent, or not ours: nothing to do
    const { message, xUserId } = claimed;
    metrics.messages.inc({ channel: message.channel, status: 'SENDING' });
    // Erased while an earlier attempt was out, then queued again (a retry, the sweep,
    // retryMessage): there is no one to send it to.
    if (message.destination === ERASED) {
      const erased: ProviderError = { ok: false, kind: 'permanent', code: 'RECIPIENT_ERASED', message: 'the recipient was erased' };
      await this.keep(message.id, erased.code, () => this.fail(message, claimed.gateway, erased));
      return;
    }
    // Listed since it was accepted (a STOP, an unsubscribe, a bounce meanwhile): not sent.
    let suppressed: boolean;
    try {
      suppressed = await this.deps.suppressions.isSuppressed(message);
    } catch (err) {
      // Unread, the list cannot clear the send: the message waits and is tried again.
      this.lastFailureAt = Date.now();
      log.warn({ messageId: message.id, err: databaseErrorOf(err) }, 'could not read the suppression list; the message waits');
      const at = new Date(Date.now() + RECORD_RETRY_MAX_MS);
      await this.keep(message.id, 'requeued: suppression list unread', () => this.requeue(message, job, at));
      return;
    }
    if (suppressed) {
      const listed: ProviderError = {
        ok: false,
        kind: 'permanent',
        code: 'SUPPRESSED',
        message: `suppressed: the destination is on the suppression list for ${message.category} messages on ${message.channel}`,
      };
      await this.keep(message.id, listed.code, () => this.fail(message, claimed.gateway, listed));
      return;
    }
    const avoid = new Set(job.avoid ?? []);
    let gateway = claimed.gateway;
    try {
      const picked = await this.deps.router.pick(message, claimed.gateway, avoid);
      // The claim read the message's own gateway just now; another is read afresh, since the
      // routing's copy may be a second old (a pause or a send slot taken since).
      if (picked && picked.id !== claimed.gateway?.id)
        gateway = (await gatewaysQ.findGateway(this.deps.db, message.tenantId, picked.id)) ?? picked;
      // Paused by its provider since the routing was read: another route, if one is ready.
      if (gateway?.pausedUntil && gateway.pausedUntil.getTime() > Date.now() + SLOT_TOLERANCE_MS) {
        const other = await this.deps.router.alternative(message, claimed.gateway, new Set([...avoid, gateway.id]));
        if (other) gateway = (await gatewaysQ.findGateway(this.deps.db, message.tenantId, other.id)) ?? other;
      }
    } catch (err) {
      // Routing could not be read: this attempt keeps the message's own gateway.
      this.lastFailureAt = Date.now();
      log.warn(
        { messageId: message.id, err: databaseErrorOf(err) },
        'could not read the channel routing; sending through the message gateway',
      );
    }

    if (!gateway || !gateway.enabled) {
      const error: ProviderError = {
        ok: false,
        kind: 'permanent',
        code: 'GATEWAY_DISABLED',
        message: `gateway "${gateway?.name ?? 'unknown'}" is disabled`,
      };
      await this.keep(message.id, error.code, () => this.fail(message, gateway, error));
      return;
    }
    const chosen = gateway;
    let credentials;
    try {
      credentials = this.deps.gateways.credentialsOf(chosen);
    } catch (err) {
      const reason = `gateway "${chosen.name}" credentials cannot be read: ${(err as Error).message}`;
      const unreadable: ProviderError = {
        ok: false,
        kind: 'permanent',
        code: 'CREDENTIALS_UNREADABLE',
        message: reason,
        aboutGateway: true,
      };
      this.noteHealth(chosen.id, unreadable);
      await this.keep(message.id, 'CREDENTIALS_UNREADABLE', () => this.record(message, chosen, claimed.gateway, job, unreadable));
      return;
    }

    // The gateway's own pace: a provider-imposed pause, or its configured send rate.
    const wait = await this.throttle(gateway, job);
    if (wait) {
      await this.keep(message.id, 'requeued for its send slot', () => this.requeue(message, wait.job, wait.at));
      return;
    }

    const provider = this.deps.providerFor(gateway.provider);
    const target = { id: gateway.id, provider: gateway.provider, credentials };
    const started = performance.now();
    let result: SendResult;
    try {
      const destination = await this.addressOf(message, provider, target, xUserId);
      result =
        typeof destination !== 'string'
          ? destination
          : await provider.send(
              {
                id: message.id,
                channel: message.channel,
                destination,
                body: message.body,
                subject: message.subject,
                htmlBody: message.htmlBody,
                headers: this.deps.suppressions.unsubscribeHeaders(message),
              },
              target,
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

    this.noteHealth(gateway.id, result);
    await this.keep(message.id, result.ok ? `sent as ${result.providerMessageId}` : `${result.kind} ${result.code}`, () =>
      this.record(message, chosen, claimed.gateway, job, result),
    );
  }

  /** The send's outcome for its gateway's breaker: a refusal about the destination says the gateway works. */
  private noteHealth(gatewayId: string, result: SendResult): void {
    if (result.ok || (result.kind === 'permanent' && !result.aboutGateway)) this.deps.health.succeeded(gatewayId);
    else this.deps.health.failed(gatewayId, result.kind === 'permanent');
  }

  /**
   * Writes what the provider answered: SENT, FAILED, or QUEUED again. A failure that another
   * gateway may not share (the provider unreachable, failing, limiting for longer than a
   * moment, or refusing this gateway's credentials or account) moves the message at once to
   * the next gateway its routing allows, if there is one; the attempt counts.
   */
  private async record(
    message: q.MessageRow,
    gateway: gatewaysQ.GatewayRow,
    own: gatewaysQ.GatewayRow | undefined,
    job: DispatchJob,
    result: SendResult,
  ): Promise<void> {
    if (result.ok) {
      await this.succeed(message, gateway, result.providerMessageId);
      return;
    }
    if (movesOn(result) && job.attempt < this.deps.policy.maxAttempts) {
      const avoid = new Set([...(job.avoid ?? []), gateway.id]);
      const next = await this.deps.router.alternative(message, own, avoid).catch(() => null);
      if (next) {
        if (result.kind === 'rate_limited' && result.retryAt) await gatewaysQ.pauseGateway(this.deps.db, gateway.id, result.retryAt);
        await this.retryLater(
          message,
          gateway,
          result,
          { ...job, attempt: job.attempt + 1, slotAt: undefined, avoid: [...avoid] },
          new Date(),
          next,
        );
        return;
      }
    }
    if (result.kind === 'rate_limited' && result.retryAt && (job.rateLimited ?? 0) < MAX_RATE_LIMIT_WAITS) {
      // Wait out the vendor's window, and make the gateway's other messages wait too
      // instead of burning requests on more 429s. Not counted against the attempts.
      await gatewaysQ.pauseGateway(this.deps.db, gateway.id, result.retryAt);
      await this.retryLater(
        message,
        gateway,
        result,
        { ...job, attempt: job.attempt, slotAt: undefined, rateLimited: (job.rateLimited ?? 0) + 1 },
        result.retryAt,
      );
      return;
    }
    const decision = decide(result, job.attempt, this.deps.policy);
    if (decision.action === 'fail') await this.fail(message, gateway, result, job.attempt);
    // Every gateway tried this round: the next round starts again from the first route.
    else
      await this.retryLater(
        message,
        gateway,
        result,
        { ...job, attempt: job.attempt + 1, slotAt: undefined, avoid: undefined },
        decision.at,
      );
  }

  /**
   * Runs `write` until the database takes it, backing off up to RECORD_RETRY_MAX_MS, and
   * marks the message pending meanwhile so that nothing in this process sends it again
   * (the sweep of every process also waits for this one to have written it). Only
   * `stop()` ends the wait, with the outcome logged as unknown to the database.
   */
  private async keep(messageId: string, outcome: string, write: () => Promise<void>): Promise<void> {
    const { log } = this.deps;
    let delay = RECORD_RETRY_FIRST_MS;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await write();
          if (attempt > 1) log.info({ messageId, outcome, attempts: attempt }, 'provider outcome recorded after the database came back');
          return;
        } catch (err) {
          this.lastFailureAt = Date.now();
          this.pending.set(messageId, outcome);
          const error = databaseErrorOf(err);
          if (this.stopping) {
            log.error(
              { messageId, outcome, err: error },
              'stopping with a provider outcome not recorded: the outcome is unknown to the database, and a sweep will take the message over (send it again)',
            );
            return;
          }
          // The first failure, then every tenth: an outage must not flood the log.
          if (attempt === 1 || attempt % 10 === 0)
            log.warn({ messageId, outcome, attempt, err: error }, 'could not record the provider outcome; keeping it and trying again');
          await sleep(delay, this.stopped.signal);
          delay = Math.min(delay * 2, RECORD_RETRY_MAX_MS);
        }
      }
    } finally {
      this.pending.delete(messageId);
    }
  }

  /**
   * Where to send: the stored address, or for X the user id behind the @handle, resolved
   * once and kept on the recipient (a changed handle clears it); the claim read the kept
   * one (`xUserId`) if the recipient's handle is still this message's.
   */
  private async addressOf(
    message: q.MessageRow,
    provider: Provider,
    gateway: GatewayForSend,
    xUserId: string | null,
  ): Promise<string | ProviderError> {
    if (message.channel !== 'TWITTER_DM' || !provider.resolveRecipient) return message.destination;
    const handle = message.destination;
    if (xUserId) return xUserId;
    const resolved = await provider.resolveRecipient(handle, gateway);
    if (!resolved.ok) return resolved;
    await recipientsQ.cacheTwitterUserId(this.deps.db, message.recipientId, handle, resolved.id);
    return resolved.id;
  }

  /**
   * When this message must wait for its gateway: the time and the job to run then. A
   * slot due within the queue's polling window is waited for here, so sends land on
   * their slots instead of in bursts at each poll.
   */
  private async throttle(gateway: gatewaysQ.GatewayRow, job: DispatchJob): Promise<{ at: Date; job: DispatchJob } | undefined> {
    const now = Date.now();
    if (gateway.pausedUntil && gateway.pausedUntil.getTime() > now + SLOT_TOLERANCE_MS) return { at: gateway.pausedUntil, job };
    if (!gateway.maxPerSecond) return undefined;
    const slot = job.slotAt ? new Date(job.slotAt) : await gatewaysQ.reserveSendSlot(this.deps.db, gateway.id);
    const wait = slot.getTime() - Date.now();
    if (wait <= SLOT_TOLERANCE_MS) return undefined;
    if (wait <= IN_PROCESS_WAIT_MS) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      return undefined;
    }
    // Come back a little early (the queue polls once a second) and wait out the rest then.
    return { at: new Date(slot.getTime() - IN_PROCESS_WAIT_MS / 2), job: { ...job, slotAt: slot.toISOString() } };
  }

  /** Back to QUEUED without an attempt made: the claim's attempt is given back. */
  private async requeue(message: q.MessageRow, job: DispatchJob, at: Date): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const queued = await q.transition(
        tx,
        message.id,
        { status: 'QUEUED', attempts: Math.max(0, message.attempts - 1) },
        { only: ['SENDING'] },
      );
      if (queued) await this.deps.outbox.enqueue(tx, [{ ...job, startAfter: at }]);
    });
  }

  private async succeed(message: q.MessageRow, gateway: gatewaysQ.GatewayRow, providerMessageId: string): Promise<void> {
    // SENT with its log; if a receipt got here first (DELIVERED/FAILED while SENDING), the provider's id is kept.
    await this.recordSent({
      id: message.id,
      gatewayId: gateway.id,
      providerMessageId,
      sentAt: new Date(),
      log: this.log(message, gateway, 'SUCCESS', null),
    });
    this.deps.metrics.messages.inc({ channel: message.channel, status: 'SENT' });
  }

  private async fail(
    message: q.MessageRow,
    gateway: gatewaysQ.GatewayRow | undefined,
    error: ProviderError,
    attempts?: number,
  ): Promise<void> {
    const reason =
      error.kind === 'permanent' || attempts === undefined ? error.message : `gave up after ${attempts} attempts: ${error.message}`;
    await this.deps.db.transaction(async (tx) => {
      const failed = await q.transition(
        tx,
        message.id,
        { status: 'FAILED', errorCode: error.code, errorMessage: reason, ...(gateway ? { gatewayId: gateway.id } : {}) },
        { only: ['SENDING'] },
      );
      if (!failed) return;
      // Logged from the row as the update left it: erased meanwhile, it says so (delivery-log.ts).
      await q.insertLogs(tx, [{ ...this.log(failed, gateway, 'FAILURE', reason), providerCode: error.code }]);
      if (error.optedOut)
        await this.deps.suppressions.providerOptOut(tx, failed, `the provider refused the destination as opted out (${error.code})`);
    });
    this.deps.metrics.messages.inc({ channel: message.channel, status: 'FAILED' });
    this.deps.log.info({ messageId: message.id, code: error.code }, 'message failed');
  }

  /** QUEUED again for the attempt `next`, due at `at`, through `failover` when given (else the same gateway). */
  private async retryLater(
    message: q.MessageRow,
    gateway: gatewaysQ.GatewayRow,
    error: ProviderError,
    next: DispatchJob,
    at: Date,
    failover?: gatewaysQ.GatewayRow,
  ): Promise<void> {
    const reason = failover
      ? `attempt ${message.attempts} through "${gateway.name}" failed: ${error.message}; sending through "${failover.name}" now`
      : error.kind === 'rate_limited'
        ? `rate limited by the provider: ${error.message}; sending again at ${at.toISOString()}`
        : `attempt ${message.attempts} failed (temporary error): ${error.message}; retrying at ${at.toISOString()}`;
    await this.deps.db.transaction(async (tx) => {
      const queued = await q.transition(
        tx,
        message.id,
        { status: 'QUEUED', errorCode: error.code, errorMessage: error.message, gatewayId: (failover ?? gateway).id },
        { only: ['SENDING'] },
      );
      if (!queued) return;
      await q.insertLogs(tx, [{ ...this.log(queued, gateway, 'FAILURE', reason), providerCode: error.code }]);
      await this.deps.outbox.enqueue(tx, [{ ...next, startAfter: at }]);
    });
    this.deps.metrics.messages.inc({ channel: message.channel, status: 'QUEUED' });
  }

  private log(
    message: q.MessageRow,
    gateway: gatewaysQ.GatewayRow | undefined,
    outcome: 'SUCCESS' | 'FAILURE',
    reason: string | null,
  ): q.NewDeliveryLogRow {
    return deliveryLogOf(message, { outcome, reason, gatewayId: gateway?.id ?? null });
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Failures another gateway may not share: worth moving the message for, at once. */
function movesOn(error: ProviderError): boolean {
  if (error.kind === 'permanent') return error.aboutGateway === true;
  if (error.kind === 'transient') return true;
  // A limit lifted within moments is waited out on the same gateway; a longer one is not.
  return !error.retryAt || error.retryAt.getTime() - Date.now() > IN_PROCESS_WAIT_MS;
}
