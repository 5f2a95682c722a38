import { IsEmail, IsOptional, Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/common.types.js';
import { ConnectionType } from '../../graphql/connection.js';
import { FILTER_RULE } from '../../graphql/filters.js';
import { RecipientKind } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
import { TIME_ZONE_RULE } from '../../lib/time-zone.js';

const TWITTER_HANDLE_MAX = 15;
export const TWITTER_HANDLE = new RegExp(`^@?[A-Za-z0-9_]{1,${TWITTER_HANDLE_MAX}}$`);
const NOT_BLANK = /\S/;
const PHONE_MAX = 32;
const EMAIL_MAX = 254;
const EXTERNAL_REF_MAX = 128;
const DISPLAY_NAME_MAX = 200;
const TIME_ZONE_INPUT = `The zone quiet hours are kept in for this recipient: ${TIME_ZONE_RULE}. null: the tenant's defaultTimeZone (on update, null clears it).`;

@ObjectType({ implements: Node })
export class Recipient implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => RecipientKind)
  kind!: RecipientKind;

  @Field(() => String, {
    nullable: true,
    description: 'The id this recipient has in the calling system (client number, staff number, customer account).',
  })
  externalRef?: string | null;

  @Field()
  displayName!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Whole for SENDER and ADMIN keys; masked for a READER key, as Message.destination is (+1*******0123).',
  })
  phone?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Whole for SENDER and ADMIN keys; masked for a READER key, as Message.destination is (j***@example.com).',
  })
  email?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Whole for SENDER and ADMIN keys; masked for a READER key, as Message.destination is (+1*******0123).',
  })
  whatsapp?: string | null;

  @Field(() => String, { nullable: true })
  twitterHandle?: string | null;

  @Field(() => String, { nullable: true, description: "IANA time zone, e.g. America/Toronto; null: the tenant's defaultTimeZone." })
  timeZone?: string | null;

  @Field()
  createdAt!: Date;

  dbId!: string;
}

export const RecipientConnection = ConnectionType('Recipient', Recipient);

// Shape checks shared by create and update; phone numbers are parsed by the service.
@InputType('RecipientContactFields')
class ContactFields {
  @Field(() => String, {
    nullable: true,
    description: `A phone number with its country code, at most ${PHONE_MAX} characters, e.g. +14155550123; stored as E.164. null clears it.`,
  })
  @IsOptional()
  @MaxLength(PHONE_MAX, { message: `phone must be at most ${PHONE_MAX} characters` })
  phone?: string | null;

  @Field(() => String, {
    nullable: true,
    description: `An e-mail address, at most ${EMAIL_MAX} characters, e.g. jane@example.com. null clears it.`,
  })
  @IsOptional()
  @MaxLength(EMAIL_MAX, { message: `email must be at most ${EMAIL_MAX} characters` })
  @IsEmail({}, { message: 'email must be an e-mail address such as jane@example.com' })
  email?: string | null;

  @Field(() => String, {
    nullable: true,
    description: `The number registered on WhatsApp, with its country code, at most ${PHONE_MAX} characters; stored as E.164. null clears it.`,
  })
  @IsOptional()
  @MaxLength(PHONE_MAX, { message: `whatsapp must be at most ${PHONE_MAX} characters` })
  whatsapp?: string | null;

  @Field(() => String, {
    nullable: true,
    description: `Twitter/X username: 1 to ${TWITTER_HANDLE_MAX} letters, digits or _, with or without the leading @. null clears it.`,
  })
  @IsOptional()
  @Matches(TWITTER_HANDLE, { message: `twitterHandle must be 1 to ${TWITTER_HANDLE_MAX} letters, digits or _ (a leading @ is fine)` })
  twitterHandle?: string | null;
}

@InputType()
export class CreateRecipientInput extends ContactFields {
  @Field(() => RecipientKind)
  kind!: RecipientKind;

  @Field(() => String, {
    nullable: true,
    description: `The id this recipient has in the calling system; not blank, at most ${EXTERNAL_REF_MAX} characters.`,
  })
  @IsOptional()
  @Matches(NOT_BLANK, { message: 'externalRef must not be empty' })
  @MaxLength(EXTERNAL_REF_MAX, { message: `externalRef must be at most ${EXTERNAL_REF_MAX} characters` })
  externalRef?: string | null;

  @Field({ description: `Not blank; at most ${DISPLAY_NAME_MAX} characters.` })
  @Matches(NOT_BLANK, { message: 'displayName must not be empty' })
  @MaxLength(DISPLAY_NAME_MAX, { message: `displayName must be at most ${DISPLAY_NAME_MAX} characters` })
  displayName!: string;

  @Field(() => String, { nullable: true, description: TIME_ZONE_INPUT })
  timeZone?: string | null;
}

@InputType()
export class UpdateRecipientInput extends ContactFields {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: `Not blank; at most ${DISPLAY_NAME_MAX} characters.` })
  @IsOptional()
  @Matches(NOT_BLANK, { message: 'displayName must not be empty' })
  @MaxLength(DISPLAY_NAME_MAX, { message: `displayName must be at most ${DISPLAY_NAME_MAX} characters` })
  displayName?: string | null;

  @Field(() => String, { nullable: true, description: TIME_ZONE_INPUT })
  timeZone?: string | null;
}

@InputType({ description: `Which recipients to list. ${FILTER_RULE}` })
export class RecipientFilter {
  @Field(() => RecipientKind, { nullable: true })
  kind?: RecipientKind | null;

  @Field(() => String, { nullable: true })
  externalRef?: string | null;
}

export const CreateRecipientPayload = PayloadType('CreateRecipientPayload', { recipient: Recipient });
export type CreateRecipientPayload = InstanceType<typeof CreateRecipientPayload>;

export const UpdateRecipientPayload = PayloadType('UpdateRecipientPayload', { recipient: Recipient });
export type UpdateRecipientPayload = InstanceType<typeof UpdateRecipientPayload>;
