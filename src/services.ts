// The service layer, built once per process and shared by resolvers, HTTP routes and workers.
import type { Database } from './db/client.js';
import type { SecretBox } from './lib/secret-box.js';
import type { Metrics } from './metrics.js';
import type { StatusHub } from './realtime/status-hub.js';
import type { Logger } from 'pino';
import { ReceiptsService } from './modules/receipts/receipts.service.js';

export interface ServiceOptions {
  log: Logger;
  sendgridWebhookPublicKey?: string;
  /** Every tenant's send budget unless the operator set its own. */
  sendBudget: BudgetLimits;
  /** HERALD_WEBHOOK_ALLOW_PRIVATE: event-webhook endpoints may be http and private addresses. */
  webhookAllowPrivate: boolean;
  /** The gateways' circuit breaker (HERALD_BREAKER_*). */
  breaker: BreakerPolicy;
  /** Suppression hashes and unsubscribe tokens, keyed from HERALD_SECRET_KEY. */
  destinationKeys: DestinationKeys;
  /** PUBLIC_URL and HERALD_UNSUBSCRIBE_MAILTO: what every e-mail's List-Unsubscribe names. */
  unsubscribe: UnsubscribeSettings;
}
import type { Outbox } from './dispatch/outbox.js';
import { MessagesService } from './modules/messages/messages.service.js';
import { OrdersService } from './modules/orders/orders.service.js';
import { BillingService } from './modules/billing/billing.service.js';
import { ApiKeysService } from './modules/api-keys/api-keys.service.js';
import { GatewaysService } from './modules/gateways/gateways.service.js';
import { RecipientsService } from './modules/recipients/recipients.service.js';
import { SubscriptionsService } from './modules/subscriptions/subscriptions.service.js';
import { TenantsService } from './modules/tenants/tenants.service.js';
import { BudgetsService } from './modules/budgets/budgets.service.js';
import { MessageEventsService } from './modules/messages/message-events.service.js';
import type { BudgetLimits } from './modules/budgets/budgets.queries.js';
import { NotificationsService } from './modules/notifications/notifications.service.js';
import { TemplatesService } from './modules/templates/templates.service.js';
import { WebhookEndpointsService } from './modules/webhooks/webhook-endpoints.service.js';
import { RoutingService } from './modules/routing/routing.service.js';
import { RetentionService } from './modules/retention/retention.service.js';
import { ErasureService } from './modules/erasure/erasure.service.js';
import type { BreakerPolicy } from './modules/routing/circuit-breaker.js';
import { FallbackService } from './modules/fallback/fallback.service.js';
import { ConsentService } from './modules/consent/consent.service.js';
import { WebhookEventsService } from './modules/webhooks/webhook-events.service.js';
import type { WebhookQueue } from './dispatch/webhooks/jobs.js';
import type { DestinationKeys } from './lib/destination-keys.js';
import { InboundService } from './modules/suppressions/inbound.service.js';
import { SuppressionsService, type UnsubscribeSettings } from './modules/suppressions/suppressions.service.js';

export function createServices(
  db: Database,
  secrets: SecretBox,
  outbox: Outbox,
  webhookQueue: WebhookQueue,
  metrics: Metrics,
  statusHub: StatusHub,
  options: ServiceOptions,
) {
  const apiKeys = new ApiKeysService(db, options.log);
  // Revocations arrive on the status hub's LISTEN connection (API processes start it).
  apiKeys.follow(statusHub.listener);
  const budgets = new BudgetsService(db, options.sendBudget);
  const routing = new RoutingService(db, options.breaker);
  const gateways = new GatewaysService(db, secrets, routing);
  const templates = new TemplatesService(db);
  const consent = new ConsentService(db);
  const suppressions = new SuppressionsService(db, options.destinationKeys, webhookQueue, options.unsubscribe);
  const fallbacks = new FallbackService(db, outbox, metrics, budgets, templates, suppressions, options.log);
  const messages = new MessagesService(db, outbox, metrics, budgets, fallbacks, consent, suppressions);
  // Template and quiet-hours writes are heard on the same LISTEN connection, so sends read them from a cache.
  templates.follow(statusHub.listener);
  consent.follow(statusHub.listener);
  return {
    db,
    statusHub,
    apiKeys,
    tenants: new TenantsService(db, apiKeys, budgets),
    gateways,
    routing,
    receipts: new ReceiptsService(db, gateways, metrics, options.log, options.sendgridWebhookPublicKey, suppressions),
    recipients: new RecipientsService(db),
    subscriptions: new SubscriptionsService(db),
    messages,
    messageEvents: new MessageEventsService(db, statusHub),
    budgets,
    templates,
    fallbacks,
    consent,
    suppressions,
    inbound: new InboundService(db, gateways, suppressions, options.log),
    notifications: new NotificationsService(db, messages, templates, fallbacks, consent, suppressions),
    orders: new OrdersService(db, outbox, metrics, budgets, templates, consent, suppressions),
    billing: new BillingService(messages, outbox, metrics, budgets, templates, fallbacks, consent, suppressions),
    webhookEndpoints: new WebhookEndpointsService(db, secrets, { allowPrivate: options.webhookAllowPrivate }),
    webhookEvents: new WebhookEventsService(db, webhookQueue),
    retention: new RetentionService(db),
    erasure: new ErasureService(db, metrics, suppressions),
  };
}

export type Services = ReturnType<typeof createServices>;
