import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/common.types.js';
import { ConnectionType } from '../../graphql/connection.js';
import { WebhookDeliveryOutcome, WebhookEventType } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
import { RESPONSE_EXCERPT_BYTES } from '../../dispatch/webhooks/poster.js';

@ObjectType({ implements: Node, description: 'One event, as sent to every endpoint subscribed to its type.' })
export class WebhookEvent implements Node {
  @Field(() => ID, { description: 'Also the webhook-id header of every delivery of it.' })
  id!: string;

  @Field(() => WebhookEventType)
  type!: WebhookEventType;

  /** The message's database id (null for a test event), for the `message` field. */
  messageDbId!: string | null;

  @Field({ description: 'The JSON body sent, exactly.' })
  payload!: string;

  @Field({ description: "The status change's time (the body's timestamp)." })
  createdAt!: Date;
}

@ObjectType({ implements: Node, description: 'One attempt to deliver one event to one endpoint.' })
export class WebhookDelivery implements Node {
  @Field(() => ID)
  id!: string;

  endpointDbId!: string;
  eventDbId!: string;

  @Field(() => Int, { description: "1 for the event's first attempt to this endpoint, counted on through retries and redeliveries." })
  attempt!: number;

  @Field(() => WebhookDeliveryOutcome)
  outcome!: WebhookDeliveryOutcome;

  @Field(() => Int, { nullable: true, description: "The endpoint's HTTP status; null when no answer came." })
  statusCode?: number | null;

  @Field(() => String, { nullable: true, description: 'Why it failed, when it did (timeout, connection refused, address not allowed…).' })
  error?: string | null;

  @Field(() => Int, { nullable: true })
  durationMs?: number | null;

  @Field(() => String, { nullable: true, description: `The first ${RESPONSE_EXCERPT_BYTES / 1024} KB of the answer's body.` })
  responseExcerpt?: string | null;

  @Field()
  at!: Date;

  @Field(() => Date, { nullable: true, description: 'When the next attempt is due; null when none will be made.' })
  nextAttemptAt?: Date | null;
}

export const WebhookDeliveryConnection = ConnectionType('WebhookDelivery', WebhookDelivery);
export type WebhookDeliveryConnection = InstanceType<typeof WebhookDeliveryConnection>;

@InputType({ description: 'Every field given must match. An id of another tenant or type matches nothing.' })
export class WebhookDeliveryFilter {
  @Field(() => ID, { nullable: true })
  endpointId?: string | null;

  @Field(() => ID, { nullable: true })
  eventId?: string | null;

  @Field(() => ID, { nullable: true })
  messageId?: string | null;

  @Field(() => WebhookDeliveryOutcome, { nullable: true })
  outcome?: WebhookDeliveryOutcome | null;
}

@InputType()
export class RedeliverWebhookEventInput {
  @Field(() => ID)
  eventId!: string;

  @Field(() => ID, { nullable: true, description: 'Default: every endpoint that was sent the event.' })
  endpointId?: string | null;
}

export const RedeliverWebhookEventPayload = PayloadType('RedeliverWebhookEventPayload', { event: WebhookEvent });
export type RedeliverWebhookEventPayload = InstanceType<typeof RedeliverWebhookEventPayload>;

@InputType()
export class SendTestWebhookEventInput {
  @Field(() => ID)
  endpointId!: string;
}

export const SendTestWebhookEventPayload = PayloadType('SendTestWebhookEventPayload', { event: WebhookEvent });
export type SendTestWebhookEventPayload = InstanceType<typeof SendTestWebhookEventPayload>;
