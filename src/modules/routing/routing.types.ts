import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Channel, CircuitState, RoutingStrategy } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
import { ChannelInfo, Gateway } from '../gateways/gateways.types.js';
import { MAX_PRIORITY, MAX_ROUTES, MAX_WEIGHT } from './routing.service.js';

@ObjectType({ description: "A gateway's health as every worker process sees it (kept in the database)." })
export class GatewayHealth {
  @Field(() => CircuitState)
  state!: CircuitState;

  @Field(() => Float, { description: 'Failed share of the sends in the current window, 0–1.' })
  failureRate!: number;

  @Field(() => Date, { nullable: true })
  lastFailureAt?: Date | null;

  @Field(() => Date, { nullable: true })
  openedAt?: Date | null;
}

@ObjectType()
export class ChannelRoute {
  @Field(() => Gateway)
  gateway!: Gateway;

  @Field(() => Int, { nullable: true })
  priority?: number | null;

  @Field(() => Int, { nullable: true })
  weight?: number | null;
}

@InputType()
export class ChannelRouteInput {
  @Field(() => ID, { description: 'An enabled or disabled gateway of the channel; a disabled one is skipped until enabled.' })
  gatewayId!: string;

  @Field(() => Int, { nullable: true, description: `PRIORITY: 0 to ${MAX_PRIORITY}, lowest first.` })
  priority?: number | null;

  @Field(() => Int, { nullable: true, description: `WEIGHTED: 1 to ${MAX_WEIGHT}, its share of the traffic.` })
  weight?: number | null;
}

@InputType()
export class SetChannelRoutingInput {
  @Field(() => Channel)
  channel!: Channel;

  @Field(() => RoutingStrategy)
  strategy!: RoutingStrategy;

  @Field(() => [ChannelRouteInput], { description: `1 to ${MAX_ROUTES} gateways of the channel, each once.` })
  routes!: ChannelRouteInput[];

  @Field(() => Boolean, { nullable: true, description: 'Default false: a subscription that names a gateway stays on it.' })
  failoverPinned?: boolean | null;
}

export const SetChannelRoutingPayload = PayloadType('SetChannelRoutingPayload', { channel: ChannelInfo });
export type SetChannelRoutingPayload = InstanceType<typeof SetChannelRoutingPayload>;
