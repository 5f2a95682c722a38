import { Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/common.types.js';
import { Channel, MessageCategory } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';

const NAME_MAX = 200;

@ObjectType({ description: "A daily window, in the recipient's time zone, when messages of these categories wait." })
export class QuietHours {
  @Field(() => Channel)
  channel!: Channel;

  @Field({ description: 'HH:MM, 24-hour.' })
  start!: string;

  @Field({ description: 'HH:MM, 24-hour; before start when the window crosses midnight (21:00 to 08:00).' })
  end!: string;

  @Field(() => [MessageCategory])
  categories!: MessageCategory[];
}

@ObjectType({ implements: Node })
export class Tenant implements Node {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({
    description:
      "BCP 47 tag (en unless set with setDefaultLocale): the locale of a send that names none (Herald's own flows included), and the defaultLocale of a new template that names none, which its variants fall back to.",
  })
  defaultLocale!: string;

  @Field(() => Int, {
    description:
      'Messages, logs, receipts and events older than this are purged (daily counts are kept). Days; 30 unless set with setRetention.',
  })
  retentionDays!: number;

  @Field(() => [QuietHours], {
    description:
      "Per channel (setQuietHours): a message of the window's categories, not urgent, that would go inside the window in the recipient's zone is SCHEDULED to the window's end.",
  })
  quietHours!: QuietHours[];

  @Field({ description: 'IANA zone used for recipients without one (UTC unless set with updateConsentSettings).' })
  defaultTimeZone!: string;

  @Field(() => String, { nullable: true, description: 'What Herald answers to an inbound HELP.' })
  helpReply?: string | null;

  @Field(() => [MessageCategory], { description: 'Categories an inbound STOP suppresses on SMS and WHATSAPP (default both).' })
  stopSuppresses!: MessageCategory[];

  @Field(() => [MessageCategory], { description: 'Categories an email unsubscribe suppresses (default MARKETING).' })
  unsubscribeSuppresses!: MessageCategory[];

  @Field()
  createdAt!: Date;
}

@InputType()
export class CreateTenantInput {
  @Field({ description: `Not blank; at most ${NAME_MAX} characters.` })
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(NAME_MAX, { message: `name must be at most ${NAME_MAX} characters` })
  name!: string;
}

export const CreateTenantPayload = PayloadType('CreateTenantPayload', {
  tenant: Tenant,
  adminKey: { type: String, description: 'An ADMIN key of the new tenant, shown once.' },
});
export type CreateTenantPayload = InstanceType<typeof CreateTenantPayload>;
