// Seed 000: after a billing cycle every customer gets an invoice-due DM on X. Invoices
// are checked here; resolving the @handle and sending are the worker's.
import type { InvoiceData } from '../../db/schema/index.js';
import { MAX_INVOICES_PER_CYCLE_CALL } from '../../domain/limits.js';
import { Problems, Refusal, invalid, refuse, UserErrorCode } from '../../domain/refusal.js';
import { fromGlobalId, timeOfUuidv7, uuidv7 } from '../../lib/ids.js';
import type { Metrics } from '../../metrics.js';
import type { BudgetsService } from '../budgets/budgets.service.js';
import type { ConsentService, QuietHoursCheck } from '../consent/consent.service.js';
import type { SuppressionsService } from '../suppressions/suppressions.service.js';
import { invoiceScope } from '../../templates/built-in.js';
import * as messagesQ from '../messages/messages.queries.js';
import type { NewMessages, Outbox } from '../../dispatch/outbox.js';
import { type MessagesService, requestHash } from '../messages/messages.service.js';
import * as recipientsQ from '../recipients/recipients.queries.js';
import type { NotifyBillingCycleInput, SendInvoiceDMInput } from './billing.types.js';
import { renderText } from '../templates/render.js';
import type { FallbackService, TemplateFallback } from '../fallback/fallback.service.js';
import type { BuiltInVersion, TemplatesService } from '../templates/templates.service.js';
import { checkInvoice } from './invoice.js';

/** Invoices per statement of a cycle call: small enough to overlap building and writing. */
const INVOICES_PER_PART = 2_500;

export class BillingService {
  constructor(
    private readonly messagesService: MessagesService,
    private readonly outbox: Outbox,
    private readonly metrics: Metrics,
    private readonly budgets: BudgetsService,
    private readonly templates: TemplatesService,
    private readonly fallbacks: FallbackService,
    private readonly consent: ConsentService,
    private readonly suppressions: SuppressionsService,
  ) {}

  /** The fallback the tenant set on its invoice-due template (setTemplateFallback), looked up once per call. */
  private invoiceFallback(tenantId: string, template: BuiltInVersion): Promise<TemplateFallback | undefined> | undefined {
    return template.template?.fallback?.length
      ? this.fallbacks.fromTemplate(tenantId, {}, { name: template.template.name, template: template.template })
      : undefined;
  }

  async sendInvoiceDM(tenantId: string, input: SendInvoiceDMInput): Promise<messagesQ.MessageRow> {
    const { invoice, problems } = checkInvoice(input.invoice);
    if (problems.length > 0) {
      const all = new Problems();
      for (const p of problems) all.add(['input', 'invoice', p.field], p.message);
      all.throwIfAny();
    }
    const route = await this.messagesService.route(tenantId, input.customerId, 'TWITTER_DM');
    const customer = route?.recipient;
    if (!customer) throw refuse(UserErrorCode.NOT_FOUND, `no customer ${input.customerId}`, ['input', 'customerId']);
    if (customer.kind !== 'CUSTOMER')
      throw invalid(['input', 'customerId'], `invoices go to customers; ${input.customerId} is a ${customer.kind}`);
    if (!customer.twitterHandle) {
      throw refuse(UserErrorCode.RECIPIENT_NOT_REACHABLE, `${customer.displayName} has no X handle`, ['input', 'customerId']);
    }
    const gateway = route.gateway();
    await this.suppressions.refuseIfSuppressed(tenantId, { channel: 'TWITTER_DM', category: 'TRANSACTIONAL' }, customer.twitterHandle, [
      'input',
      'customerId',
    ]);
    const [builtIns, quietHours] = await Promise.all([this.templates.builtIns(tenantId), this.consent.quietHours(tenantId)]);
    const template = builtIns('INVOICE_DUE', 'TWITTER_DM');
    const fallback = await this.invoiceFallback(tenantId, template);
    const now = new Date();
    const row = this.messageRow(uuidv7(), tenantId, customer, { id: gateway.id, pinned: route.pinned }, invoice!, template, null, fallback);
    return this.messagesService.insertAndEnqueue(
      {
        ...held(row, quietHours, customer, now),
        idempotencyKey: input.idempotencyKey ?? null,
        requestHash: input.idempotencyKey ? requestHash({ kind: 'invoice', customerId: input.customerId, invoice }) : null,
      },
      now,
      gateway,
    );
  }

  /**
   * Every good invoice becomes a QUEUED DM, every bad one a FAILURE log with its reason;
   * written in multi-row batches with their jobs in one transaction. An invoice already
   * DMed in this cycle is left alone (unique per tenant, cycle and invoice number).
   */
  async notifyBillingCycle(
    tenantId: string,
    input: NotifyBillingCycleInput,
  ): Promise<{ queued: number; rejected: number; rewritten: boolean }> {
    if (input.invoices.length > MAX_INVOICES_PER_CYCLE_CALL) {
      throw invalid(
        ['input', 'invoices'],
        `at most ${MAX_INVOICES_PER_CYCLE_CALL} invoices per call, got ${input.invoices.length}: split the cycle into several calls with the same cycleId`,
      );
    }
    const cycleId = input.cycleId.trim();
    const ids = [...new Set(input.invoices.map((i) => fromGlobalId(i.customerId, 'Recipient')?.uuid).filter((x): x is string => !!x))];
    // Every customer with the gateway its DM takes (subscription's, else the default), in one statement.
    const routes = await this.messagesService.routesOf(tenantId, ids, 'TWITTER_DM');
    // The handles listed for TRANSACTIONAL DMs, in one read for the whole call.
    const handles = [...routes.values()].flatMap((r) => (r.recipient.twitterHandle ? [r.recipient.twitterHandle] : []));
    const suppressed = await this.suppressions.suppressedOf(
      tenantId,
      handles.map((destination) => ({ channel: 'TWITTER_DM' as const, destination })),
      'TRANSACTIONAL',
    );
    const isSuppressed = (handle: string) => suppressed.has(`TWITTER_DM:${handle}`);

    // The budget is spent up front for the DMs the cycle will queue (they are built while
    // being written); those already sent in this cycle are given back after.
    const sendable = input.invoices.filter((item) => sendableInvoice(item, routes, isSuppressed)).length;
    const spent = await this.budgets.spendCount(tenantId, sendable);
    const tally = { rejected: 0 };
    let queued = 0;
    let scheduled: number;
    let rewritten: boolean;
    try {
      const [builtIns, quietHours] = await Promise.all([this.templates.builtIns(tenantId), this.consent.quietHours(tenantId)]);
      const template = builtIns('INVOICE_DUE', 'TWITTER_DM');
      const fallback = await this.invoiceFallback(tenantId, template);
      const parts = this.parts(tenantId, cycleId, input.invoices, routes, { ...template, fallback }, quietHours, isSuppressed, tally);
      ({ inserted: queued, scheduled, rewritten } = await this.outbox.writeParts(parts));
    } finally {
      await this.budgets.refund(spent, sendable - queued);
    }
    if (queued > scheduled) this.metrics.messages.inc({ channel: 'TWITTER_DM', status: 'QUEUED' }, queued - scheduled);
    if (scheduled > 0) this.metrics.messages.inc({ channel: 'TWITTER_DM', status: 'SCHEDULED' }, scheduled);
    this.metrics.billingWrites.inc({ attempts: rewritten ? '2' : '1' });
    return { queued, rejected: tally.rejected, rewritten };
  }

  /**
   * The cycle's messages and rejections, INVOICES_PER_PART invoices at a time, built as
   * the outbox asks for them (each part is written while the next one is built).
   */
  private *parts(
    tenantId: string,
    cycleId: string,
    invoices: NotifyBillingCycleInput['invoices'],
    routes: Map<string, recipientsQ.RouteRow>,
    template: BuiltInVersion & { fallback?: TemplateFallback },
    quietHours: QuietHoursCheck,
    isSuppressed: (handle: string) => boolean,
    tally: { rejected: number },
  ): Generator<NewMessages> {
    const now = new Date();
    for (let from = 0; from < invoices.length; from += INVOICES_PER_PART) {
      const rows: messagesQ.NewMessageRow[] = [];
      const logs: messagesQ.NewDeliveryLogRow[] = [];
      const reject = (recipientId: string | null, gatewayId: string | null, reason: string) =>
        logs.push({ id: uuidv7(), tenantId, recipientId, gatewayId, channel: 'TWITTER_DM', outcome: 'FAILURE', reason });
      for (let index = from; index < Math.min(from + INVOICES_PER_PART, invoices.length); index++) {
        const item = invoices[index];
        // Named only in a rejection's reason.
        const where = () =>
          `invoice ${index + 1}${item.invoice.number ? ` (${item.invoice.number.slice(0, 64)})` : ''} of cycle ${cycleId}`;
        const uuid = fromGlobalId(item.customerId, 'Recipient')?.uuid;
        const route = uuid ? routes.get(uuid) : undefined;
        const customer = route?.recipient;
        const { invoice, problems } = checkInvoice(item.invoice);
        if (!customer) reject(null, null, `${where()}: no customer ${item.customerId.slice(0, 80)}`);
        else if (customer.kind !== 'CUSTOMER')
          reject(customer.id, null, `${where()}: ${customer.displayName} is a ${customer.kind}, not a customer`);
        else if (problems.length > 0) reject(customer.id, null, `${where()}: ${problems.map((p) => p.message).join('; ')}`);
        else if (!customer.twitterHandle) reject(customer.id, null, `${where()}: ${customer.displayName} has no X handle`);
        else if (isSuppressed(customer.twitterHandle))
          reject(
            customer.id,
            route.gateway?.id ?? null,
            `${where()}: suppressed: ${customer.displayName}'s X handle is on the suppression list for TRANSACTIONAL messages on TWITTER_DM`,
          );
        else if (!route.gateway || !route.gateway.enabled)
          reject(customer.id, route.gateway?.id ?? null, `${where()}: no enabled TWITTER_DM gateway`);
        else {
          try {
            const row = this.messageRow(
              uuidv7(),
              tenantId,
              customer,
              { id: route.gateway.id, pinned: route.pinned },
              invoice!,
              template,
              cycleId,
              template.fallback,
            );
            rows.push(held(row, quietHours, customer, now));
          } catch (error) {
            // A tenant's edit of the template that this invoice cannot fill.
            if (!(error instanceof Refusal)) throw error;
            reject(customer.id, route.gateway.id, `${where()}: the invoice-due template cannot be rendered: ${error.message}`);
          }
        }
      }
      tally.rejected += logs.length;
      yield { messages: rows, logs };
    }
  }

  /** The invoice's DM, rendered from the tenant's invoice-due template (a Refusal when that template cannot be filled). */
  private messageRow(
    id: string,
    tenantId: string,
    customer: recipientsQ.RecipientRow,
    gateway: { id: string; pinned: boolean },
    invoice: InvoiceData,
    template: BuiltInVersion,
    billingCycleId: string | null = null,
    fallback?: TemplateFallback,
  ): messagesQ.NewMessageRow {
    const scope = invoiceScope(invoice, customer.displayName);
    const text = renderText('TWITTER_DM', template.text, scope, template.tenantLocale);
    return {
      id,
      tenantId,
      recipientId: customer.id,
      gatewayId: gateway.id,
      gatewayPinned: gateway.pinned,
      channel: 'TWITTER_DM',
      status: 'QUEUED',
      body: text.body,
      // The handle as it was asked for; the worker resolves it to an X user id once.
      destination: customer.twitterHandle!,
      invoice,
      invoiceNumber: invoice.number,
      templateId: template.template?.id ?? null,
      templateVersion: template.template?.version ?? null,
      locale: text.locale,
      createdAt: timeOfUuidv7(id),
      billingCycleId,
      ...fallback?.render(scope, template.tenantLocale),
    };
  }
}

/** The DM SCHEDULED to the end of the quiet hours it falls in, where the tenant's TWITTER_DM window lists TRANSACTIONAL; else as it is. */
function held(
  row: messagesQ.NewMessageRow,
  quietHours: QuietHoursCheck,
  customer: recipientsQ.RecipientRow,
  now: Date,
): messagesQ.NewMessageRow {
  const until = quietHours({ channel: 'TWITTER_DM', category: 'TRANSACTIONAL', timeZone: customer.timeZone, sendAt: null }, now);
  return until ? { ...row, status: 'SCHEDULED', scheduledAt: until } : row;
}

/** Whether `parts` will queue a DM for this invoice (the checks it makes, without building the row). */
function sendableInvoice(
  item: NotifyBillingCycleInput['invoices'][number],
  routes: Map<string, recipientsQ.RouteRow>,
  isSuppressed: (handle: string) => boolean,
): boolean {
  const uuid = fromGlobalId(item.customerId, 'Recipient')?.uuid;
  const route = uuid ? routes.get(uuid) : undefined;
  const customer = route?.recipient;
  return (
    !!customer &&
    customer.kind === 'CUSTOMER' &&
    !!customer.twitterHandle &&
    !isSuppressed(customer.twitterHandle) &&
    !!route.gateway?.enabled &&
    checkInvoice(item.invoice).problems.length === 0
  );
}
