import { IsOptional, Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { IsIdempotencyKey, UserError } from '../../graphql/common.types.js';
import { DeliveryLog, Message } from '../messages/messages.types.js';

@InputType()
export class UpdateOrderStatusInput {
  @Field()
  @Matches(/\S/, { message: 'orderId must not be empty' })
  @MaxLength(100, { message: 'orderId must be at most 100 characters' })
  orderId!: string;

  @Field(() => ID)
  customerId!: string;

  @Field()
  @Matches(/\S/, { message: 'status must not be empty' })
  @MaxLength(64, { message: 'status must be at most 64 characters' })
  status!: string;

  @Field(() => String, { nullable: true, description: 'Optional extra text for the notification.' })
  @IsOptional()
  @MaxLength(500, { message: 'note must be at most 500 characters' })
  note?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The same key again within 24 hours returns the first call's messages and notifies no one again; another payload with it is an IDEMPOTENCY_CONFLICT userError.",
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
