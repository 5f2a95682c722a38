import { IsBoolean, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/common.types.js';
import { Channel, Provider, RoutingStrategy } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';

const NAME_MAX = 100;
const CREDENTIALS_MAX = 4096;
const MIN_PER_SECOND = 0.001;
const MAX_PER_SECOND = 10_000;
const MAX_PRICE_MULTIPLIER = 1_000;

@ObjectType({ implements: Node })
export class Gateway implements Node {
  @Field(() => ID)
  id!: string;

  /** The database id nested fields load by (toGatewayView). */
  dbId!: string;

  @Field()
  name!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => Provider)
  provider!: Provider;

  @Field()
  enabled!: boolean;

  @Field({ description: 'The gateway its channel uses when a subscription or a send names none.' })
  isDefault!: boolean;

  @Field(() => Float, {
    nullable: true,
    description: 'Most messages per second this gateway sends; workers spread its sends to stay under it.',
  })
  maxPerSecond?: number | null;

  @Field(() => Int, {
    description:
      "What one SMS segment through this gateway costs, in billable units (a message's billableUnits = segments × this); 1 unless set.",
  })
  priceMultiplier!: number;

  @Field()
  createdAt!: Date;
}

@ObjectType()
export class ChannelInfo {
  @Field(() => Channel)
  channel!: Channel;

  @Field(() => [Gateway])
  gateways!: Gateway[];

  @Field(() => RoutingStrategy)
  strategy!: RoutingStrategy;

  /** Filled by the routing resolver (ChannelRoute lives there). */
  routeRows!: { gateway: Gateway; priority: number | null; weight: number | null }[];

  @Field({ description: 'Whether a subscription that names a gateway may fail over to another.' })
  failoverPinned!: boolean;
}

@InputType()
export class AddChannelGatewayInput {
  @Field(() => Channel)
  channel!: Channel;

  @Field(() => Provider)
  provider!: Provider;

  @Field({ description: `Not blank; at most ${NAME_MAX} characters.` })
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(NAME_MAX, { message: `name must be at most ${NAME_MAX} characters` })
  name!: string;

  @Field(() => String, {
    nullable: true,
    description: [
      `Provider credentials and sender identity as a JSON string of at most ${CREDENTIALS_MAX} characters; stored encrypted, never returned.`,
      'TWILIO: {"accountSid", "authToken", "from"} (from: E.164 number; for WHATSAPP the number without the whatsapp: prefix).',
      'SENDGRID: {"apiKey", "from"} (from: an email address), optionally "webhookPublicKey" (the verification key of the account\'s signed event webhook: its signed events update this gateway\'s messages).',
      'TWITTER: {"appKey", "appSecret", "accessToken", "accessSecret"}.',
      'SANDBOX: none.',
    ].join('\n'),
  })
  @IsOptional()
  @MaxLength(CREDENTIALS_MAX, { message: `credentials must be at most ${CREDENTIALS_MAX} characters` })
  credentials?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      "The gateway the channel uses when a subscription names none; default true for a channel's first enabled gateway (the SANDBOX placeholder a tenant starts with does not count).",
  })
  @IsOptional()
  @IsBoolean()
  makeDefault?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean | null;

  @Field(() => Float, {
    nullable: true,
    description: `Most messages per second to send through this gateway, ${MIN_PER_SECOND} to ${MAX_PER_SECOND} (e.g. 0.2 for one every 5 s, under X's DM limits); omitted: as fast as workers go.`,
  })
  @IsOptional()
  @Min(MIN_PER_SECOND, { message: `maxPerSecond must be at least ${MIN_PER_SECOND}` })
  @Max(MAX_PER_SECOND, { message: `maxPerSecond must be at most ${MAX_PER_SECOND}` })
  maxPerSecond?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: `Billable units per SMS segment through this gateway, 1 to ${MAX_PRICE_MULTIPLIER}; omitted: 1.`,
  })
  @IsOptional()
  @Min(1, { message: 'priceMultiplier must be at least 1' })
  @Max(MAX_PRICE_MULTIPLIER, { message: `priceMultiplier must be at most ${MAX_PRICE_MULTIPLIER}` })
  priceMultiplier?: number | null;
}

export const AddChannelGatewayPayload = PayloadType('AddChannelGatewayPayload', { gateway: Gateway });
export type AddChannelGatewayPayload = InstanceType<typeof AddChannelGatewayPayload>;

@InputType()
export class UpdateGatewayInput {
  @Field(() => ID)
  id!: string;

  @Field(() => Boolean, { nullable: true, description: 'false stops every send through it (a disabled gateway is never a default).' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "true makes it its channel's default." })
  @IsOptional()
  @IsBoolean()
  makeDefault?: boolean | null;

  @Field(() => String, {
    nullable: true,
    description: `New credentials replacing the gateway's, as AddChannelGatewayInput.credentials describes for its provider (all fields, not a patch); at most ${CREDENTIALS_MAX} characters.`,
  })
  @IsOptional()
  @MaxLength(CREDENTIALS_MAX, { message: `credentials must be at most ${CREDENTIALS_MAX} characters` })
  credentials?: string | null;

  @Field(() => Float, { nullable: true, description: `New send-rate cap, up to ${MAX_PER_SECOND} per second; 0 removes it.` })
  @IsOptional()
  @Min(0, { message: 'maxPerSecond must not be negative' })
  @Max(MAX_PER_SECOND, { message: `maxPerSecond must be at most ${MAX_PER_SECOND}` })
  maxPerSecond?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: `Billable units per SMS segment through this gateway, 1 to ${MAX_PRICE_MULTIPLIER}; omitted: unchanged.`,
  })
  @IsOptional()
  @Min(1, { message: 'priceMultiplier must be at least 1' })
  @Max(MAX_PRICE_MULTIPLIER, { message: `priceMultiplier must be at most ${MAX_PRICE_MULTIPLIER}` })
  priceMultiplier?: number | null;
}

export const UpdateGatewayPayload = PayloadType('UpdateGatewayPayload', { gateway: Gateway });
export type UpdateGatewayPayload = InstanceType<typeof UpdateGatewayPayload>;
