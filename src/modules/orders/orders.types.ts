import { IsOptional, Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { IDEMPOTENCY_WINDOW_HOURS } from '../../domain/limits.js';
import { IDEMPOTENCY_KEY_RULE, IsIdempotencyKey, UserError } from '../../graphql/common.types.js';
import { DeliveryLog, Message } from '../messages/messages.types.js';

const ORDER_ID_MAX = 100;
const STATUS_MAX = 64;
const NOTE_MAX = 500;

@InputType()
export class UpdateOrderStatusInput {
  @Field({ description: `The order in the calling system; not blank, at most ${ORDER_ID_MAX} characters.` })
  @Matches(/\S/, { message: 'orderId must not be empty' })
  @MaxLength(ORDER_ID_MAX, { message: `orderId must be at most ${ORDER_ID_MAX} characters` })
  orderId!: string;

  @Field(() => ID, { description: 'A CUSTOMER recipient: notified on every channel it subscribed to.' })
  customerId!: string;

  @Field({ description: `The order's new status as the customer reads it, e.g. "shipped"; not blank, at most ${STATUS_MAX} characters.` })
  @Matches(/\S/, { message: 'status must not be empty' })
  @MaxLength(STATUS_MAX, { message: `status must be at most ${STATUS_MAX} characters` })
  status!: string;

  @Field(() => String, { nullable: true, description: `Optional extra text for the notification, at most ${NOTE_MAX} characters.` })
  @IsOptional()
  @MaxLength(NOTE_MAX, { message: `note must be at most ${NOTE_MAX} characters` })
  note?: string | null;

  @Field(() => String, {
    nullable: true,
    description: `${IDEMPOTENCY_KEY_RULE}. The same key again within ${IDEMPOTENCY_WINDOW_HOURS} hours returns the first call's messages and notifies no one again; another payload with it is an IDEMPOTENCY_CONFLICT userError whose existingId is the first call's first message (its first failure when it queued none).`,
  })
  @IsOptional()
  @IsIdempotencyKey()
  idempotencyKey?: string | null;
}

@ObjectType()
export class UpdateOrderStatusPayload {
  @Field(() => [Message], { description: 'One message per subscribed channel and gateway.' })
  messages!: Message[];

  @Field(() => [DeliveryLog], {
    description: 'Refusals written as FAILURE delivery logs: not subscribed, missing contact data, gateway disabled.',
  })
  failures!: DeliveryLog[];

  @Field(() => [UserError])
  userErrors!: UserError[];
}
