import { Max, Min } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { MAX_STATS_DAYS, RETENTION_DAYS } from '../../domain/limits.js';
import { Channel, MessageStatus } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
import { Tenant } from '../tenants/tenants.types.js';

@ObjectType({ description: 'Messages created on one day (UTC), by channel and current status; kept after the rows are purged.' })
export class DailyStat {
  @Field()
  day!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => MessageStatus)
  status!: MessageStatus;

  @Field(() => Int)
  count!: number;

  @Field(() => Int, { description: 'SMS segments summed (SMS and WHATSAPP), else 0.' })
  segments!: number;
}

@InputType({
  description: `Days (UTC) written YYYY-MM-DD, both included, at most ${MAX_STATS_DAYS} of them; anything else is refused with BAD_USER_INPUT naming the field.`,
})
export class StatsInput {
  @Field({ description: 'YYYY-MM-DD, inclusive.' })
  from!: string;

  @Field({ description: 'YYYY-MM-DD, inclusive.' })
  to!: string;

  @Field(() => Channel, { nullable: true })
  channel?: Channel | null;
}

@InputType()
export class SetRetentionInput {
  @Field(() => ID, { nullable: true, description: "The operator may set another tenant's; an ADMIN its own." })
  tenantId?: string | null;

  @Field(() => Int, { description: `Days, ${RETENTION_DAYS.min} to ${RETENTION_DAYS.max} (default ${RETENTION_DAYS.default}).` })
  @Min(RETENTION_DAYS.min, { message: `days must be from ${RETENTION_DAYS.min} to ${RETENTION_DAYS.max}` })
  @Max(RETENTION_DAYS.max, { message: `days must be from ${RETENTION_DAYS.min} to ${RETENTION_DAYS.max}` })
  days!: number;
}

export const SetRetentionPayload = PayloadType('SetRetentionPayload', { tenant: Tenant });
export type SetRetentionPayload = InstanceType<typeof SetRetentionPayload>;
