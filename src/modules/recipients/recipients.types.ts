import { IsEmail, IsOptional, Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/common.types.js';
import { ConnectionType } from '../../graphql/connection.js';
import { RecipientKind } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
import { FILTER_RULE } from '../../graphql/filters.js';

export const TWITTER_HANDLE = /^@?[A-Za-z0-9_]{1,15}$/;
const NOT_BLANK = /\S/;

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

  @Field(() => String, { nullable: true })
  phone?: string | null;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => String, { nullable: true })
  whatsapp?: string | null;

  @Field(() => String, { nullable: true })
  twitterHandle?: string | null;

  @Field()
  createdAt!: Date;

  dbId!: string;
}

export const RecipientConnection = ConnectionType('Recipient', Recipient);

// Shape checks shared by create and update; phone numbers are parsed by the service.
@InputType('RecipientContactFields')
class ContactFields {
  @Field(() => String, { nullable: true, description: 'E.164, e.g. +14155550123.' })
  @IsOptional()
  @MaxLength(32, { message: 'phone must be at most 32 characters' })
  phone?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(254, { message: 'email must be at most 254 characters' })
  @IsEmail({}, { message: 'email must be an e-mail address such as jane@example.com' })
  email?: string | null;

  @Field(() => String, { nullable: true, description: 'E.164 number registered on WhatsApp.' })
  @IsOptional()
  @MaxLength(32, { message: 'whatsapp must be at most 32 characters' })
  whatsapp?: string | null;

  @Field(() => String, { nullable: true, description: 'Twitter/X username, with or without the leading @.' })
  @IsOptional()
  @Matches(TWITTER_HANDLE, { message: 'twitterHandle must be 1 to 15 letters, digits or _ (a leading @ is fine)' })
  twitterHandle?: string | null;
}

@InputType()
export class CreateRecipientInput extends ContactFields {
  @Field(() => RecipientKind)
  kind!: RecipientKind;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(NOT_BLANK, { message: 'externalRef must not be empty' })
  @MaxLength(128, { message: 'externalRef must be at most 128 characters' })
  externalRef?: string | null;

  @Field()
  @Matches(NOT_BLANK, { message: 'displayName must not be empty' })
  @MaxLength(200, { message: 'displayName must be at most 200 characters' })
  displayName!: string;
}

@InputType()
export class UpdateRecipientInput extends ContactFields {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(NOT_BLANK, { message: 'displayName must not be empty' })
  @MaxLength(200, { message: 'displayName must be at most 200 characters' })
  displayName?: string | null;
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
