import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { UserError } from '../../graphql/common.types.js';
import { Channel } from '../../graphql/enums.js';
import { Gateway } from '../gateways/gateways.types.js';
import { Recipient } from '../recipients/recipients.types.js';

@ObjectType({ description: "A recipient's choice to be notified on a channel through a gateway." })
export class ChannelSubscription {
  @Field(() => Channel)
  channel!: Channel;

  @Field(() => Gateway)
  gateway!: Gateway;

  @Field()
  createdAt!: Date;

  gatewayDbId!: string;
}

@InputType()
export class SubscribeInput {
  @Field(() => ID)
  recipientId!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => ID, { nullable: true, description: "Omitted: the channel's default gateway." })
  gatewayId?: string | null;
}

@ObjectType()
export class SubscribePayload {
  @Field(() => Recipient, { nullable: true })
  recipient?: Recipient | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@InputType()
export class UnsubscribeInput {
  @Field(() => ID)
  recipientId!: string;

  @Field(() => Channel)
  channel!: Channel;
}

@ObjectType()
export class UnsubscribePayload {
  @Field(() => Recipient, { nullable: true })
  recipient?: Recipient | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
