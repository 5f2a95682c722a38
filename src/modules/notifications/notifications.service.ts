// One send for every channel: a known recipient, a template of the channel (or free text),
// personalisation and a locale. The text is rendered when the send is accepted and stored
// with the template and version it came from; from there a notification is a message like
// any other (persisted with its job, idempotent, schedulable, cancellable, retryable).
import { stringify } from 'safe-stable-stringify';
import type { Database } from '../../db/client.js';
import { Channel, MessageCategory } from '../../domain/enums.js';
import { IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE, MAX_PERSONALISATION_BYTES } from '../../domain/limits.js';
import { Problems, Refusal, refuse, UserErrorCode, type UserErrorShape } from '../../domain/refusal.js';
import { timeOfUuidv7, uuidv7 } from '../../lib/ids.js';
import { countSms, type SmsCount } from '../../lib/sms-segments.js';
import { OverBudget } from '../budgets/budgets.service.js';
import type { ConsentService } from '../consent/consent.service.js';
import type { SuppressionsService } from '../suppressions/suppressions.service.js';
import * as gatewaysQ from '../gateways/gateways.queries.js';
import type * as messagesQ from '../messages/messages.queries.js';
import { consentOf, fallbackOf, type MessagesService, requestHash, scheduledTime } from '../messages/messages.service.js';
import { checkFallback } from '../fallback/fallback.js';
import type { FallbackService } from '../fallback/fallback.service.js';
import { segmentFigures } from '../messages/segments.js';
import { CONTACT_NAME, contactFor } from '../recipients/contact.js';
import { canonicalLocale, type Rendered, renderText, type TemplateText } from '../templates/render.js';
import { type TemplatesService, unknownTemplate, wrongChannel } from '../templates/templates.service.js';

const REFERENCE_MAX = 256;

export interface SendNotificationRequest {
  recipientId: string;
  channel: Channel;
  templateId?: string | null;
  subject?: string | null;
  body?: string | null;
  personalisation?: Record<string, unknown> | null;
  locale?: string | null;
  sendAt?: Date | null;
  idempotencyKey?: string | null;
  reference?: string | null;
  fallback?: Channel[] | null;
  fallbackAfterSeconds?: number | null;
  category?: MessageCategory | null;
  urgent?: boolean | null;
}

export interface PreviewRequest {
  templateId?: string | null;
  version?: number | null;
  channel?: Channel | null;
  subject?: string | null;
  body?: string | null;
  htmlBody?: string | null;
  personalisation?: Record<string, unknown> | null;
  locale?: string | null;
}

export interface Preview extends Rendered {
  sms: (SmsCount & { billableUnits: number }) | null;
}

export interface BatchResult {
  index: number;
  message?: messagesQ.MessageRow;
  userErrors: UserErrorShape[];
}

export class NotificationsService {
  constructor(
    private readonly db: Database,
    private readonly messages: MessagesService,
    private readonly templates: TemplatesService,
    private readonly fallbacks: FallbackService,
    private readonly consent: ConsentService,
    private readonly suppressions: SuppressionsService,
  ) {}

  async send(tenantId: string, input: SendNotificationRequest, now = new Date()): Promise<messagesQ.MessageRow> {
    const { channel } = input;
    checkSendInput(input);
    const sendAt = scheduledTime(input.sendAt, now);
    const route = await this.messages.route(tenantId, input.recipientId, channel);
    const recipient = route?.recipient;
    if (!recipient) throw refuse(UserErrorCode.NOT_FOUND, `no recipient ${input.recipientId}`, ['input', 'recipientId']);
    const destination = contactFor(recipient, channel);
    if (!destination) {
      throw refuse(UserErrorCode.RECIPIENT_NOT_REACHABLE, `${recipient.displayName} has no ${CONTACT_NAME[channel]}`, [
        'input',
        'recipientId',
      ]);
    }
    const [source, tenantLocale, quietHours] = await Promise.all([
      input.templateId ? this.templates.usable(tenantId, input.templateId, channel) : undefined,
      this.templates.defaultLocaleOf(tenantId),
      this.consent.quietHours(tenantId),
    ]);
    const text = source?.version ?? adHoc(input, tenantLocale);
    const scope = { ...input.personalisation, recipient: { name: recipient.displayName } };
    const rendered = renderText(channel, text, scope, input.locale || tenantLocale);
    const plan = source
      ? (await this.fallbacks.fromTemplate(tenantId, input, { name: source.version.name, template: source.template })).render(
          scope,
          input.locale || tenantLocale,
        )
      : this.fallbacks.planText(input, rendered);
    const gateway = route.gateway();
    const category = input.category ?? source?.template.category ?? MessageCategory.TRANSACTIONAL;
    const scheduledAt = quietHours({ channel, category, urgent: input.urgent, timeZone: recipient.timeZone, sendAt }, now) ?? sendAt;
    await this.suppressions.refuseIfSuppressed(tenantId, { channel, category }, destination, ['input', 'recipientId']);

    const id = uuidv7();
    const row: messagesQ.NewMessageRow = {
      id,
      tenantId,
      recipientId: recipient.id,
      gatewayId: gateway.id,
      gatewayPinned: route.pinned,
      channel,
      category,
      status: scheduledAt ? 'SCHEDULED' : 'QUEUED',
      body: rendered.body,
      subject: rendered.subject,
      htmlBody: rendered.htmlBody,
      ...segmentFigures(channel, rendered.body),
      destination,
      scheduledAt,
      templateId: source?.template.id ?? null,
      templateVersion: source?.version.version ?? null,
      locale: rendered.locale,
      reference: input.reference ?? null,
      ...plan,
      idempotencyKey: input.idempotencyKey ?? null,
      requestHash: input.idempotencyKey ? requestHash(stringify(requestOf(input, sendAt))) : null,
      createdAt: timeOfUuidv7(id),
    };
    return this.messages.insertAndEnqueue(row, now, gateway);
  }

  /**
   * Every item sent as `send` would, side by side: one item's refusal is its own, with its
   * fields under ["input", "items", index], and the others go on. Items sharing the moment
   * share their statements (the route reads and the outbox's write batch them).
   */
  async sendMany(tenantId: string, items: readonly SendNotificationRequest[], now = new Date()): Promise<BatchResult[]> {
    return Promise.all(
      items.map(async (item, index): Promise<BatchResult> => {
        try {
          return { index, message: await this.send(tenantId, item, now), userErrors: [] };
        } catch (error) {
          const itemPath = (field?: string[] | null) => ['input', 'items', String(index), ...(field ?? ['input']).slice(1)];
          if (error instanceof Refusal) return { index, userErrors: error.userErrors.map((e) => ({ ...e, field: itemPath(e.field) })) };
          if (error instanceof OverBudget) {
            return { index, userErrors: [{ code: UserErrorCode.OVER_BUDGET, message: error.message, field: itemPath() }] };
          }
          throw error;
        }
      }),
    );
  }

  /** What a send would say, and for SMS and WhatsApp how it travels and what it costs; nothing is stored. */
  async preview(tenantId: string, input: PreviewRequest): Promise<Preview> {
    let channel = input.channel ?? null;
    let text: TemplateText;
    const tenantLocale = await this.templates.defaultLocaleOf(tenantId);
    const problems = new Problems();
    checkValues(input, problems);
    if (input.templateId) {
      if (input.body || input.subject || input.htmlBody) problems.add(['input', 'templateId'], 'give templateId or ad-hoc text, not both');
      problems.throwIfAny();
      const found = await this.templates.get(tenantId, input.templateId, input.version);
      if (!found) throw unknownTemplate(input.templateId, input.version);
      if (channel && channel !== found.template.channel) throw wrongChannel(found.template, channel, ['input', 'channel']);
      channel = found.template.channel;
      text = found.version;
    } else {
      if (!channel) problems.add(['input', 'channel'], 'give a channel with ad-hoc text, or a templateId');
      if (!input.body?.trim()) problems.add(['input', 'body'], 'give a templateId or a body');
      if (channel && channel !== Channel.EMAIL && input.subject) problems.add(['input', 'subject'], `${channel} has no subject`);
      if (channel && channel !== Channel.EMAIL && input.htmlBody) problems.add(['input', 'htmlBody'], `${channel} has no HTML body`);
      problems.throwIfAny();
      text = adHoc({ ...input, channel: channel! }, tenantLocale, input.htmlBody ?? null);
    }
    const rendered = renderText(channel!, text, input.personalisation ?? {}, input.locale || tenantLocale);
    let sms: Preview['sms'] = null;
    if (channel === 'SMS' || channel === 'WHATSAPP') {
      const count = countSms(rendered.body);
      const gateway = await gatewaysQ.findDefaultGateway(this.db, tenantId, channel);
      sms = { ...count, billableUnits: count.segments * (gateway?.priceMultiplier ?? 1) };
    }
    return { ...rendered, sms };
  }
}

/** Free text as a one-variant version: it is rendered like a template (placeholders work in it too). */
function adHoc(
  input: { channel: Channel; subject?: string | null; body?: string | null; locale?: string | null },
  tenantLocale: string,
  htmlBody: string | null = null,
): TemplateText {
  // In the locale asked for, else the tenant's.
  const locale = (input.locale && canonicalLocale(input.locale)) || tenantLocale;
  return {
    defaultLocale: locale,
    variants: [{ locale, subject: input.channel === 'EMAIL' ? (input.subject ?? null) : null, body: input.body ?? '', htmlBody }],
  };
}

/** The fields whose rules do not need the database; every problem at once. */
function checkSendInput(input: SendNotificationRequest): void {
  const problems = new Problems();
  if (input.templateId) {
    if (input.body !== undefined && input.body !== null) problems.add(['input', 'body'], 'give templateId or body, not both');
    if (input.subject !== undefined && input.subject !== null) problems.add(['input', 'subject'], 'the template has its own subject');
  } else {
    if (!input.body?.trim()) problems.add(['input', 'body'], 'give a templateId, or a body that is not blank');
    if (input.channel === Channel.EMAIL && !input.subject?.trim()) problems.add(['input', 'subject'], 'an EMAIL needs a subject');
    if (input.channel !== Channel.EMAIL && input.subject) problems.add(['input', 'subject'], `${input.channel} has no subject`);
  }
  checkValues(input, problems);
  checkFallback(input.channel, input, problems);
  if (input.personalisation && 'recipient' in input.personalisation) {
    problems.add(['input', 'personalisation', 'recipient'], 'recipient is filled in by Herald (recipient.name); use another name');
  }
  if (input.reference && input.reference.length > REFERENCE_MAX)
    problems.add(['input', 'reference'], `reference must be at most ${REFERENCE_MAX} characters`);
  if (input.idempotencyKey !== undefined && input.idempotencyKey !== null && !IDEMPOTENCY_KEY_PATTERN.test(input.idempotencyKey)) {
    problems.add(['input', 'idempotencyKey'], `idempotencyKey must be ${IDEMPOTENCY_KEY_RULE}`);
  }
  problems.throwIfAny();
}

/** What a send and a preview both take: personalisation within its size, a BCP 47 locale. */
function checkValues(input: { personalisation?: Record<string, unknown> | null; locale?: string | null }, problems: Problems): void {
  const size = input.personalisation ? Buffer.byteLength(JSON.stringify(input.personalisation)) : 0;
  if (size > MAX_PERSONALISATION_BYTES) {
    problems.add(['input', 'personalisation'], `personalisation must be at most ${MAX_PERSONALISATION_BYTES} bytes as JSON, got ${size}`);
  }
  if (input.locale !== undefined && input.locale !== null && !canonicalLocale(input.locale)) {
    problems.add(['input', 'locale'], 'locale must be a BCP 47 language tag such as en or fr-CA');
  }
}

/** What makes two sends with one idempotency key the same request (key order in personalisation does not). */
function requestOf(input: SendNotificationRequest, sendAt: Date | null) {
  return {
    kind: 'notification',
    recipientId: input.recipientId,
    channel: input.channel,
    templateId: input.templateId ?? null,
    subject: input.subject ?? null,
    body: input.body ?? null,
    personalisation: input.personalisation ?? null,
    locale: input.locale ?? null,
    sendAt: sendAt?.toISOString() ?? null,
    reference: input.reference ?? null,
    ...fallbackOf(input),
    ...consentOf(input),
  };
}
