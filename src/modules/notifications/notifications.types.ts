import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import {
  IDEMPOTENCY_WINDOW_HOURS,
  MAX_NOTIFICATIONS_PER_CALL,
  MAX_PERSONALISATION_BYTES,
  MAX_SCHEDULE_AHEAD_DAYS,
} from '../../domain/limits.js';
import { IDEMPOTENCY_KEY_RULE, UserError } from '../../graphql/common.types.js';
import { Channel, MessageCategory } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import {
  CATEGORY_DESCRIPTION,
  FALLBACK_AFTER_DESCRIPTION,
  FALLBACK_DESCRIPTION,
  Message,
  URGENT_DESCRIPTION,
} from '../messages/messages.types.js';

@InputType({
  description:
    'A notification to one of your recipients on one channel, from a template of that channel or free text (rendered the same way). There is deliberately no way to send to a raw address.',
})
export class SendNotificationInput {
  @Field(() => ID)
  recipientId!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => ID, { nullable: true, description: 'A template of this channel, or `body` (and `subject` for EMAIL) as free text.' })
  templateId?: string | null;

  @Field(() => String, { nullable: true, description: 'EMAIL free text only.' })
  subject?: string | null;

  @Field(() => String, { nullable: true, description: 'Free text (Liquid placeholders work in it too), when no templateId is given.' })
  body?: string | null;

  @Field(() => JSONObjectScalar, {
    nullable: true,
    description: `Values for the placeholders, by name (at most ${MAX_PERSONALISATION_BYTES} bytes as JSON); recipient is Herald's (recipient.name).`,
  })
  personalisation?: Record<string, unknown> | null;

  @Field(() => String, {
    nullable: true,
    description: "BCP 47 tag: the template's variant for it, else for its language, else the template's default locale.",
  })
  locale?: string | null;

  @Field(() => Date, {
    nullable: true,
    description: `Send later: an ISO 8601 date-time with offset, at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead; omitted or in the past means now.`,
  })
  sendAt?: Date | null;

  @Field(() => String, {
    nullable: true,
    description: `${IDEMPOTENCY_KEY_RULE}. The same key and input again within ${IDEMPOTENCY_WINDOW_HOURS} hours returns the first message and sends nothing new; another input with it is an IDEMPOTENCY_CONFLICT userError whose existingId is that first message.`,
  })
  idempotencyKey?: string | null;

  @Field(() => String, { nullable: true, description: "The caller's own reference, kept on the message and sent in event webhooks." })
  reference?: string | null;

  @Field(() => [Channel], {
    nullable: true,
    description: `${FALLBACK_DESCRIPTION} From a template: the tenant's template of the same name on each fallback channel; omitted: the template's own fallback.`,
  })
  fallback?: Channel[] | null;

  @Field(() => Int, { nullable: true, description: FALLBACK_AFTER_DESCRIPTION })
  fallbackAfterSeconds?: number | null;

  @Field(() => MessageCategory, {
    nullable: true,
    description: `${CATEGORY_DESCRIPTION} From a template, the default is the template's category.`,
  })
  category?: MessageCategory | null;

  @Field(() => Boolean, { nullable: true, description: URGENT_DESCRIPTION })
  urgent?: boolean | null;
}

export const SendNotificationPayload = PayloadType('SendNotificationPayload', { message: Message });
export type SendNotificationPayload = InstanceType<typeof SendNotificationPayload>;

@InputType()
export class SendNotificationsInput {
  @Field(() => [SendNotificationInput], { description: `At most ${MAX_NOTIFICATIONS_PER_CALL.toLocaleString('en-US')}.` })
  items!: SendNotificationInput[];
}

@ObjectType()
export class SendNotificationsResult {
  @Field(() => Int, { description: 'Position of the item in `items`.' })
  index!: number;

  @Field(() => Message, { nullable: true })
  message?: Message | null;

  @Field(() => [UserError], { description: 'This item\'s refusals; `field` paths start at ["input", "items", index].' })
  userErrors!: UserError[];
}

@ObjectType()
export class SendNotificationsPayload {
  @Field(() => [SendNotificationsResult])
  results!: SendNotificationsResult[];

  @Field(() => Int, { description: 'Items answered with a message (an idempotent repeat of an earlier send counts, with that message).' })
  queued!: number;

  @Field(() => Int, { description: 'Items refused: their results carry userErrors.' })
  rejected!: number;

  @Field(() => [UserError], { description: 'Refusals of the whole call (e.g. more than 1,000 items).' })
  userErrors!: UserError[];
}
