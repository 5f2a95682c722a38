import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Channel } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
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

export const SubscribePayload = PayloadType('SubscribePayload', { recipient: Recipient });
export type SubscribePayload = InstanceType<typeof SubscribePayload>;

@InputType()
export class UnsubscribeInput {
  @Field(() => ID)
  recipientId!: string;

  @Field(() => Channel)
  channel!: Channel;
}

export const UnsubscribePayload = PayloadType('UnsubscribePayload', { recipient: Recipient });
export type UnsubscribePayload = InstanceType<typeof UnsubscribePayload>;
