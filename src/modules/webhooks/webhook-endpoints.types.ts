import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Node, UserError } from '../../graphql/common.types.js';
import { WebhookEventType } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
import { DESCRIPTION_MAX, MAX_ENDPOINTS_PER_TENANT } from './webhook-endpoints.service.js';
import { URL_MAX } from './url-policy.js';

const URL_RULE = `An absolute https URL of at most ${URL_MAX} characters, without user name, password or fragment, on a public address (HERALD_WEBHOOK_ALLOW_PRIVATE=true also allows http, private addresses and local names).`;
const EVENT_TYPES_RULE = 'At least one; each counts once.';
const DESCRIPTION_RULE = `At most ${DESCRIPTION_MAX} characters.`;

@ObjectType({
  implements: Node,
  description: `Where the tenant's message events are posted, signed as Standard Webhooks says. At most ${MAX_ENDPOINTS_PER_TENANT} per tenant.`,
})
export class WebhookEndpoint implements Node {
  @Field(() => ID)
  id!: string;

  @Field()
  url!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [WebhookEventType])
  eventTypes!: WebhookEventType[];

  @Field()
  enabled!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Why Herald disabled it (e.g. failing continuously for 24 hours); null when enabled or disabled by a user.',
  })
  disabledReason?: string | null;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;
}

@InputType()
export class CreateWebhookEndpointInput {
  @Field({ description: URL_RULE })
  url!: string;

  @Field(() => [WebhookEventType], { description: EVENT_TYPES_RULE })
  eventTypes!: WebhookEventType[];

  @Field(() => String, { nullable: true, description: DESCRIPTION_RULE })
  description?: string | null;
}

export const CreateWebhookEndpointPayload = PayloadType('CreateWebhookEndpointPayload', {
  endpoint: WebhookEndpoint,
  secret: { type: String, description: 'The signing secret (whsec_…), shown once.' },
});
export type CreateWebhookEndpointPayload = InstanceType<typeof CreateWebhookEndpointPayload>;

@InputType({ description: 'The fields given change; the others stay as they are.' })
export class UpdateWebhookEndpointInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: URL_RULE })
  url?: string | null;

  @Field(() => [WebhookEventType], { nullable: true, description: EVENT_TYPES_RULE })
  eventTypes?: WebhookEventType[] | null;

  @Field(() => String, { nullable: true, description: `${DESCRIPTION_RULE} An empty one removes it.` })
  description?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'true also clears disabledReason.' })
  enabled?: boolean | null;
}

export const UpdateWebhookEndpointPayload = PayloadType('UpdateWebhookEndpointPayload', { endpoint: WebhookEndpoint });
export type UpdateWebhookEndpointPayload = InstanceType<typeof UpdateWebhookEndpointPayload>;

@InputType()
export class DeleteWebhookEndpointInput {
  @Field(() => ID)
  id!: string;
}

// Written out rather than made by PayloadType, whose fields are object types or String, not ID.
@ObjectType()
export class DeleteWebhookEndpointPayload {
  @Field(() => ID, { nullable: true })
  deletedId?: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@InputType()
export class RotateWebhookSecretInput {
  @Field(() => ID)
  id!: string;
}

export const RotateWebhookSecretPayload = PayloadType('RotateWebhookSecretPayload', {
  endpoint: WebhookEndpoint,
  secret: { type: String, description: 'The new secret, shown once; the old one still signs for 24 hours.' },
});
export type RotateWebhookSecretPayload = InstanceType<typeof RotateWebhookSecretPayload>;
