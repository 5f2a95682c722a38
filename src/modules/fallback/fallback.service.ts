// Cross-channel fallback. A send may name channels to try next; their texts are rendered
// when it is accepted (fallback.ts) and kept on the message. When the message ends FAILED,
// or stays undelivered past its window on a channel that reports delivery, a check run by
// every dispatching process writes the next message on the first of those channels the
// recipient can be reached on, linked to the first (fallback_of, unique: written once), with
// the channels still left. A channel it cannot use (no address, no gateway, the address
// suppressed for the message's category) is a FAILURE DeliveryLog on the message saying
// why, and the next is tried.
import type { Logger } from 'pino';
import type { Database, Executor } from '../../db/client.js';
import type { FallbackStepData } from '../../db/schema/index.js';
import type { Channel } from '../../domain/enums.js';
import { Problems, Refusal } from '../../domain/refusal.js';
import type { Outbox } from '../../dispatch/outbox.js';
import { timeOfUuidv7, uuidv7 } from '../../lib/ids.js';
import type { Metrics } from '../../metrics.js';
import { type BudgetsService, OverBudget, type Spent } from '../budgets/budgets.service.js';
import { deliveryLogOf } from '../messages/delivery-log.js';
import * as messagesQ from '../messages/messages.queries.js';
import { countSegments, segmentFigures } from '../messages/segments.js';
import { CONTACT_NAME, contactFor } from '../recipients/contact.js';
import * as recipientsQ from '../recipients/recipients.queries.js';
import { renderText } from '../templates/render.js';
import type * as templatesQ from '../templates/templates.queries.js';
import type { TemplatesService } from '../templates/templates.service.js';
import type { SuppressionsService } from '../suppressions/suppressions.service.js';
import { checkFallback, type FallbackAsk, sameText } from './fallback.js';
import * as q from './fallback.queries.js';

/** How often each dispatching process checks for fallbacks due: a FAILED message's fallback leaves within about this. */
export const FALLBACK_CHECK_INTERVAL_MS = 1_000;
/** Messages a check takes per statement. */
const CHECK_BATCH = 100;

/** What a message stores of its fallback. */
export interface FallbackPlan {
  fallback: FallbackStepData[] | null;
  fallbackAfterSeconds: number | null;
}

const NO_FALLBACK: FallbackPlan = { fallback: null, fallbackAfterSeconds: null };

export interface CheckResult {
  /** Fallback messages written. */
  written: number;
  /** Fallback channels passed over (FAILURE logs). */
  skipped: number;
  /** Pending fallbacks no longer needed (delivered, cancelled, final). */
  settled: number;
}

/** The template a send is rendered from: its name, and its own fallback (built-in texts not stored have none). */
export interface TemplateSource {
  name: string;
  template?: Pick<templatesQ.TemplateRow, 'fallback' | 'fallbackAfterSeconds'>;
}

/** A template's fallback, looked up: rendered for one send (a Refusal when these values cannot fill it). */
export interface TemplateFallback {
  render(scope: Record<string, unknown>, locale: string): FallbackPlan;
}

interface Outcome {
  message: messagesQ.MessageRow;
  written?: { row: messagesQ.MessageRow; priceMultiplier: number };
  /** Channels passed over, each with its FAILURE log. */
  skipped: Channel[];
}

interface Candidate {
  step: FallbackStepData;
  index: number;
  destination: string;
  gateway: { id: string; priceMultiplier: number };
  pinned: boolean;
}

export class FallbackService {
  constructor(
    private readonly db: Database,
    private readonly outbox: Outbox,
    private readonly metrics: Metrics,
    private readonly budgets: BudgetsService,
    private readonly templates: TemplatesService,
    private readonly suppressions: SuppressionsService,
    private readonly log: Logger,
  ) {}

  /** The rules a send's fallback must follow that need no database (fields under ["input", …]). */
  check(channel: Channel, ask: FallbackAsk): void {
    const problems = new Problems();
    checkFallback(channel, ask, problems);
    problems.throwIfAny();
  }

  /** Free text: the same words on every fallback channel. */
  planText(ask: FallbackAsk, sent: { subject: string | null; body: string; htmlBody: string | null; locale: string | null }): FallbackPlan {
    const channels = ask.fallback ?? [];
    if (channels.length === 0) return NO_FALLBACK;
    return {
      fallback: channels.map((channel, index) => sameText(channel, sent, index)),
      fallbackAfterSeconds: ask.fallbackAfterSeconds ?? null,
    };
  }

  /**
   * From a template: on each fallback channel the tenant's template of the same name. A
   * send that names no fallback takes the template's own (setTemplateFallback); an empty
   * list asks for none. Looked up once, rendered per send (`render`).
   */
  async fromTemplate(tenantId: string, ask: FallbackAsk, source: TemplateSource): Promise<TemplateFallback> {
    const channels = ask.fallback ?? source.template?.fallback ?? [];
    const name = source.name;
    const found = await Promise.all(
      channels.map((channel, index) => this.templates.currentByName(tenantId, channel, name, ['input', 'fallback', String(index)])),
    );
    const fallbackAfterSeconds = ask.fallbackAfterSeconds ?? source.template?.fallbackAfterSeconds ?? null;
    return {
      render(scope, locale) {
        if (found.length === 0) return NO_FALLBACK;
        const fallback = found.map(({ template, version }) => {
          try {
            const rendered = renderText(template.channel, version, scope, locale);
            return { channel: template.channel, ...rendered, templateId: template.id, templateVersion: version.version };
          } catch (error) {
            if (!(error instanceof Refusal)) throw error;
            throw new Refusal(
              error.userErrors.map((e) => ({ ...e, message: `fallback on ${template.channel} ("${name}"): ${e.message}` })),
            );
          }
        });
        return { fallback, fallbackAfterSeconds };
      },
    };
  }

  /** One check: every fallback due at `now` written (or its channels logged as unusable), the unneeded settled. */
  async runDue(now = new Date()): Promise<CheckResult> {
    const result: CheckResult = { written: 0, skipped: 0, settled: await q.settleUnneeded(this.db) };
    let after: string | undefined;
    for (;;) {
      const due = await q.findDue(this.db, now, CHECK_BATCH, after);
      for (const message of due) {
        const outcome = await this.fallBack(message);
        if (!outcome) continue;
        this.report(outcome);
        if (outcome.written) result.written++;
        result.skipped += outcome.skipped.length;
      }
      if (due.length < CHECK_BATCH) return result;
      after = due[due.length - 1].id;
    }
  }

  /**
   * Writes `message`'s next fallback, or its FAILURE logs when none of its channels can be
   * used; undefined when another check took it first. The route and the budget are settled
   * before the transaction, which only writes (one connection is all PGlite has).
   */
  private async fallBack(message: messagesQ.MessageRow): Promise<Outcome | undefined> {
    const steps = message.fallback ?? [];
    const outcome: Outcome = { message, skipped: [] };
    const logs: messagesQ.NewDeliveryLogRow[] = [];
    const skip = (step: FallbackStepData, reason: string) => {
      logs.push(
        deliveryLogOf(message, {
          outcome: 'FAILURE',
          channel: step.channel,
          gatewayId: null,
          reason: `fallback to ${step.channel} not sent: ${reason}`,
        }),
      );
      outcome.skipped.push(step.channel);
    };
    let chosen: Candidate | undefined;
    for (const [index, step] of steps.entries()) {
      const route = (await recipientsQ.findTenantRoutes(this.db, message.tenantId, [message.recipientId], step.channel)).get(
        message.recipientId,
      );
      const destination = route ? contactFor(route.recipient, step.channel) : null;
      if (!route || !destination) {
        skip(step, `the recipient has no ${CONTACT_NAME[step.channel]}`);
        continue;
      }
      const listed = await this.suppressions.suppressedOf(message.tenantId, [{ channel: step.channel, destination }], message.category);
      if (listed.size > 0) {
        skip(step, `suppressed: the ${CONTACT_NAME[step.channel]} is on the suppression list for ${message.category} messages`);
        continue;
      }
      if (!route.gateway?.enabled) {
        skip(
          step,
          route.pinned
            ? `the ${step.channel} gateway the recipient is subscribed through is disabled`
            : `${step.channel} has no enabled default gateway`,
        );
        continue;
      }
      chosen = { step, index, destination, gateway: route.gateway, pinned: route.pinned };
      break;
    }
    let spent: Spent | undefined;
    if (chosen) {
      try {
        spent = await this.budgets.spend(message.tenantId, [{ channel: chosen.step.channel, destination: chosen.destination }]);
      } catch (error) {
        if (!(error instanceof OverBudget)) throw error;
        skip(chosen.step, `over the tenant's send budget (${error.message})`);
        chosen = undefined;
      }
    }
    try {
      const done = await this.db.transaction(async (tx) => {
        if (!(await q.lockPending(tx, message.id))) return false;
        if (logs.length) await messagesQ.insertLogs(tx, logs);
        await q.settle(tx, message.id);
        if (chosen) outcome.written = await this.write(tx, message, chosen);
        return true;
      });
      if (!done) await this.budgets.refund(spent);
      return done ? outcome : undefined;
    } catch (error) {
      await this.budgets.refund(spent);
      throw error;
    }
  }

  /** The fallback message on the chosen channel, with its job and the channels still left. */
  private async write(tx: Executor, message: messagesQ.MessageRow, chosen: Candidate): Promise<NonNullable<Outcome['written']>> {
    const { step, index, destination, gateway, pinned } = chosen;
    const rest = (message.fallback ?? []).slice(index + 1);
    const id = uuidv7();
    const [written] = await messagesQ.insertMessages(tx, [
      {
        id,
        tenantId: message.tenantId,
        recipientId: message.recipientId,
        gatewayId: gateway.id,
        gatewayPinned: pinned,
        channel: step.channel,
        category: message.category,
        status: 'QUEUED',
        body: step.body,
        subject: step.subject,
        htmlBody: step.htmlBody,
        ...segmentFigures(step.channel, step.body),
        destination,
        templateId: step.templateId,
        templateVersion: step.templateVersion,
        locale: step.locale,
        reference: message.reference,
        orderId: message.orderId,
        orderStatus: message.orderStatus,
        fallback: rest.length ? rest : null,
        fallbackAfterSeconds: rest.length ? message.fallbackAfterSeconds : null,
        fallbackOf: message.id,
        createdAt: timeOfUuidv7(id),
      },
    ]);
    await this.outbox.enqueue(tx, [{ messageId: written.id }]);
    return { row: written, priceMultiplier: gateway.priceMultiplier };
  }

  private report({ message, written, skipped }: Outcome): void {
    for (const channel of skipped) this.metrics.fallbacks.inc({ channel, outcome: 'skipped' });
    if (!written) {
      this.log.info({ messageId: message.id, status: message.status, skipped }, 'no fallback channel could be used');
      return;
    }
    const { row, priceMultiplier } = written;
    this.metrics.fallbacks.inc({ channel: row.channel, outcome: 'written' });
    this.metrics.messages.inc({ channel: row.channel, status: 'QUEUED' });
    countSegments(this.metrics, [row], () => priceMultiplier);
    this.log.info(
      { messageId: message.id, fallbackId: row.id, from: message.channel, to: row.channel, status: message.status, skipped },
      'fallback written',
    );
  }

  fallbacksOf(tenantId: string, ids: readonly string[]) {
    return q.fallbacksOf(this.db, tenantId, ids);
  }
}
