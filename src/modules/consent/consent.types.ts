import { Field, InputType } from 'type-graphql';
import { MAX_HELP_REPLY_LENGTH } from '../../domain/limits.js';
import { Channel, MessageCategory } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
import { TIME_ZONE_RULE } from '../../lib/time-zone.js';
import { Tenant } from '../tenants/tenants.types.js';

@InputType({ description: 'Omitted (or null) fields are left as they are, but for helpReply, which null removes.' })
export class UpdateConsentSettingsInput {
  @Field(() => String, { nullable: true, description: `IANA zone used for recipients without one: ${TIME_ZONE_RULE}.` })
  defaultTimeZone?: string | null;

  @Field(() => String, {
    nullable: true,
    description: `What Herald answers to an inbound HELP: not blank, at most ${MAX_HELP_REPLY_LENGTH.toLocaleString('en-US')} characters; null removes it.`,
  })
  helpReply?: string | null;

  @Field(() => [MessageCategory], {
    nullable: true,
    description: 'Categories an inbound STOP suppresses on SMS and WHATSAPP: MARKETING always, TRANSACTIONAL too if listed; each once.',
  })
  stopSuppresses?: MessageCategory[] | null;

  @Field(() => [MessageCategory], {
    nullable: true,
    description: 'Categories an email unsubscribe suppresses: MARKETING always, TRANSACTIONAL too if listed; each once.',
  })
  unsubscribeSuppresses?: MessageCategory[] | null;
}

export const UpdateConsentSettingsPayload = PayloadType('UpdateConsentSettingsPayload', { tenant: Tenant });
export type UpdateConsentSettingsPayload = InstanceType<typeof UpdateConsentSettingsPayload>;

@InputType({
  description:
    "A channel's daily quiet window in the recipient's time zone (Recipient.timeZone, else Tenant.defaultTimeZone). A local time the clocks skip (spring forward) counts as the first instant after the gap; one they pass twice (fall back), as its first occurrence.",
})
export class SetQuietHoursInput {
  @Field(() => Channel)
  channel!: Channel;

  @Field(() => String, { nullable: true, description: 'HH:MM, 24-hour: the window opens. Both null: no quiet hours on this channel.' })
  start?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'HH:MM, 24-hour, not start: the window closes; before start for a window across midnight (21:00 to 08:00).',
  })
  end?: string | null;

  @Field(() => [MessageCategory], { nullable: true, description: 'The categories the window holds, each once. Default: MARKETING.' })
  categories?: MessageCategory[] | null;
}

export const SetQuietHoursPayload = PayloadType('SetQuietHoursPayload', { tenant: Tenant });
export type SetQuietHoursPayload = InstanceType<typeof SetQuietHoursPayload>;
