import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { MAX_SUPPRESSION_REASON_LENGTH } from '../../domain/limits.js';
import { Node, UserError } from '../../graphql/common.types.js';
import { ConnectionType } from '../../graphql/connection.js';
import { Channel, MessageCategory, SuppressionSource } from '../../graphql/enums.js';
import { FILTER_RULE } from '../../graphql/filters.js';
import { PayloadType } from '../../graphql/payload.js';
import { Recipient } from '../recipients/recipients.types.js';

@ObjectType({
  implements: Node,
  description:
    'A destination the tenant does not message on a channel, for the categories listed: every send to it is refused (RECIPIENT_SUPPRESSED), and one queued before it was listed ends FAILED (errorCode SUPPRESSED).',
})
export class Suppression implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field({ description: 'Masked like Message.destination; "[erased]" once the recipient was erased (the entry still applies).' })
  destination!: string;

  /** The recipient's database id, for the `recipient` field. */
  recipientDbId!: string | null;

  @Field(() => Recipient, { nullable: true, description: 'The recipient it was listed for, when it was listed by one.' })
  recipient?: Recipient | null;

  @Field(() => SuppressionSource, { description: 'Where it first came from; later listings of the same destination only add categories.' })
  source!: SuppressionSource;

  @Field(() => [MessageCategory], { description: 'MARKETING only, or every category (a STOP on SMS).' })
  categories!: MessageCategory[];

  @Field(() => String, { nullable: true })
  reason?: string | null;

  @Field()
  createdAt!: Date;
}

export const SuppressionConnection = ConnectionType('Suppression', Suppression);
export type SuppressionConnection = InstanceType<typeof SuppressionConnection>;

@InputType({ description: `Which suppressions to list. ${FILTER_RULE}` })
export class SuppressionFilter {
  @Field(() => Channel, { nullable: true })
  channel?: Channel | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Entries listed for this recipient; an id that names none of your recipients matches nothing.',
  })
  recipientId?: string | null;

  @Field(() => SuppressionSource, { nullable: true })
  source?: SuppressionSource | null;
}

@InputType({ description: 'Give recipientId or destination, not both.' })
export class AddSuppressionInput {
  @Field(() => Channel)
  channel!: Channel;

  @Field(() => ID, {
    nullable: true,
    description: 'A recipient: its destination on the channel (RECIPIENT_NOT_REACHABLE when it has none).',
  })
  recipientId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'A destination given whole: a phone number with its country code (SMS, WHATSAPP), an e-mail address, or an X handle.',
  })
  destination?: string | null;

  @Field(() => [MessageCategory], { nullable: true, description: 'Default: every category. Each once.' })
  categories?: MessageCategory[] | null;

  @Field(() => String, { nullable: true, description: `At most ${MAX_SUPPRESSION_REASON_LENGTH} characters.` })
  reason?: string | null;
}

export const AddSuppressionPayload = PayloadType('AddSuppressionPayload', {
  suppression: {
    type: Suppression,
    description: 'The entry; a destination already listed keeps its entry, with the categories given added.',
  },
});
export type AddSuppressionPayload = InstanceType<typeof AddSuppressionPayload>;

@InputType()
export class RemoveSuppressionInput {
  @Field(() => ID)
  id!: string;
}

// Written out rather than made by PayloadType, whose fields are object types or String, not ID.
@ObjectType()
export class RemoveSuppressionPayload {
  @Field(() => ID, { nullable: true })
  removedId?: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
