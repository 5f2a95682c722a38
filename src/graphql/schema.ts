import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { ApiKeysResolver } from '../modules/api-keys/api-keys.resolver.js';
import { GatewaysResolver } from '../modules/gateways/gateways.resolver.js';
import { MessageEventsResolver } from '../modules/messages/message-events.resolver.js';
import { DeliveryLogsResolver, MessagesResolver } from '../modules/messages/messages.resolver.js';
import { OrdersResolver } from '../modules/orders/orders.resolver.js';
import { BillingResolver } from '../modules/billing/billing.resolver.js';
import { BudgetsResolver } from '../modules/budgets/budgets.resolver.js';
import { ConsentResolver } from '../modules/consent/consent.resolver.js';
import { RecipientsResolver } from '../modules/recipients/recipients.resolver.js';
import { RetentionResolver } from '../modules/retention/retention.resolver.js';
import { ErasureResolver } from '../modules/erasure/erasure.resolver.js';
import { SuppressionsResolver } from '../modules/suppressions/suppressions.resolver.js';
import { SubscriptionsResolver } from '../modules/subscriptions/subscriptions.resolver.js';
import { TenantsResolver } from '../modules/tenants/tenants.resolver.js';
import { NotificationsResolver } from '../modules/notifications/notifications.resolver.js';
import { TemplatesResolver } from '../modules/templates/templates.resolver.js';
import { GatewayHealthResolver, RoutingResolver } from '../modules/routing/routing.resolver.js';
import { WebhookEndpointsResolver } from '../modules/webhooks/webhook-endpoints.resolver.js';
import { WebhookDeliveriesResolver, WebhookEventsResolver } from '../modules/webhooks/webhook-events.resolver.js';
import { authChecker } from './auth-checker.js';
import { DateTimeScalar } from './scalars.js';

export const RESOLVERS = [
  TenantsResolver,
  BudgetsResolver,
  ApiKeysResolver,
  RecipientsResolver,
  GatewaysResolver,
  RoutingResolver,
  GatewayHealthResolver,
  SubscriptionsResolver,
  MessagesResolver,
  DeliveryLogsResolver,
  TemplatesResolver,
  NotificationsResolver,
  OrdersResolver,
  BillingResolver,
  MessageEventsResolver,
  WebhookEndpointsResolver,
  WebhookEventsResolver,
  WebhookDeliveriesResolver,
  RetentionResolver,
  ErasureResolver,
  ConsentResolver,
  SuppressionsResolver,
] as const;

export async function buildHeraldSchema(options: { emitSchemaFile?: string } = {}): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    authChecker,
    // The contract names the date scalar DateTime; scalars.ts makes it say what it expected.
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // value: false keeps submitted values (credentials, phone numbers) out of error objects.
    validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
    // Subscriptions read the status hub through their own `subscribe`; topics are never
    // used, but type-graphql insists on a PubSub being there.
    pubSub: {
      publish() {
        throw new Error('Herald publishes status changes through PostgreSQL NOTIFY, not topics');
      },
      subscribe() {
        throw new Error('Herald subscriptions use the status hub, not topics');
      },
    },
    emitSchemaFile: options.emitSchemaFile ? { path: options.emitSchemaFile, sortedSchema: true } : false,
  });
  return schema;
}
