import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { MAX_TEMPLATE_VARIANTS } from '../../domain/limits.js';
import { Node } from '../../graphql/common.types.js';
import { ConnectionType } from '../../graphql/connection.js';
import { Channel, MessageCategory, SmsEncoding } from '../../graphql/enums.js';
import { FILTER_RULE } from '../../graphql/filters.js';
import { PayloadType } from '../../graphql/payload.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import { Tenant } from '../tenants/tenants.types.js';

const LIQUID =
  'Liquid (https://shopify.github.io/liquid/), strict: {{ name }} is a personalisation value, {{ recipient.name }} the recipient; a value missing from personalisation is a MISSING_PERSONALISATION refusal, never an empty string';

@ObjectType({ description: 'One language of a template version.' })
export class TemplateVariant {
  @Field({ description: 'BCP 47 tag, e.g. en, fr-CA.' })
  locale!: string;

  @Field(() => String, { nullable: true, description: 'EMAIL only.' })
  subject?: string | null;

  @Field()
  body!: string;

  @Field(() => String, { nullable: true, description: 'EMAIL only: HTML alternative; placeholder values are HTML-escaped.' })
  htmlBody?: string | null;
}

@ObjectType({ description: 'An immutable version: every update of a template makes a new one.' })
export class TemplateVersion {
  @Field(() => Int)
  version!: number;

  @Field()
  defaultLocale!: string;

  @Field(() => [TemplateVariant])
  variants!: TemplateVariant[];

  @Field()
  createdAt!: Date;
}

@ObjectType({ implements: Node })
export class Template implements Node {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => Int, { description: 'Number of the latest version.' })
  version!: number;

  @Field(() => TemplateVersion, { description: 'The latest version (with template(id, version): that version).' })
  current!: TemplateVersion;

  @Field(() => [TemplateVersion], { description: 'Every version, newest first.' })
  versions!: TemplateVersion[];

  @Field()
  archived!: boolean;

  @Field(() => String, {
    nullable: true,
    description: "Set on the templates Herald's own flows use: ORDER_STATUS, INVOICE_DUE; null for the tenant's own.",
  })
  builtIn?: string | null;

  @Field(() => [Channel], {
    description: 'The fallback a send from this template takes when it names none (setTemplateFallback); empty: none.',
  })
  fallback!: Channel[];

  @Field(() => Int, { nullable: true, description: "The fallback's window, as SendNotificationInput.fallbackAfterSeconds." })
  fallbackAfterSeconds?: number | null;

  @Field(() => MessageCategory, { description: 'The category of sends from this template that name none (TRANSACTIONAL unless set).' })
  category!: MessageCategory;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  dbId!: string;
}

export const TemplateConnection = ConnectionType('Template', Template);

@InputType({ description: `Which templates to list. ${FILTER_RULE}` })
export class TemplateFilter {
  @Field(() => Channel, { nullable: true })
  channel?: Channel | null;

  @Field(() => Boolean, { nullable: true })
  archived?: boolean | null;

  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name.' })
  name?: string | null;
}

@ObjectType({ description: 'How an SMS text is encoded and billed.' })
export class SmsSegments {
  @Field(() => SmsEncoding)
  encoding!: SmsEncoding;

  @Field(() => Int, { description: 'Characters as the network counts them (a GSM-7 extension character counts two).' })
  characters!: number;

  @Field(() => Int)
  segments!: number;

  @Field(() => [String], { description: 'The characters that force UCS-2, each once, in order of first appearance.' })
  unicodeCharacters!: string[];

  @Field(() => Int, { description: "segments × the gateway's price multiplier (1 where none is set)." })
  billableUnits!: number;
}

@ObjectType()
export class TemplatePreview {
  @Field()
  locale!: string;

  @Field(() => String, { nullable: true })
  subject?: string | null;

  @Field()
  body!: string;

  @Field(() => String, { nullable: true })
  htmlBody?: string | null;

  @Field(() => SmsSegments, { nullable: true, description: 'SMS and WHATSAPP only.' })
  sms?: SmsSegments | null;
}

@InputType()
export class TemplateVariantInput {
  @Field()
  locale!: string;

  @Field(() => String, { nullable: true })
  subject?: string | null;

  @Field({ description: LIQUID })
  body!: string;

  @Field(() => String, { nullable: true })
  htmlBody?: string | null;
}

@InputType()
export class CreateTemplateInput {
  @Field()
  name!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => String, { nullable: true, description: "Default: the tenant's default locale (en unless set)." })
  defaultLocale?: string | null;

  @Field(() => [TemplateVariantInput], { description: `1 to ${MAX_TEMPLATE_VARIANTS} variants, one per locale; one for defaultLocale.` })
  variants!: TemplateVariantInput[];

  @Field(() => MessageCategory, { nullable: true, description: 'The category of sends from it that name none. Default: TRANSACTIONAL.' })
  category?: MessageCategory | null;
}

export const CreateTemplatePayload = PayloadType('CreateTemplatePayload', { template: Template });
export type CreateTemplatePayload = InstanceType<typeof CreateTemplatePayload>;

@InputType({ description: "A new version; omitted fields keep the previous version's." })
export class UpdateTemplateInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  defaultLocale?: string | null;

  @Field(() => [TemplateVariantInput], { nullable: true })
  variants?: TemplateVariantInput[] | null;

  @Field(() => MessageCategory, {
    nullable: true,
    description: "The category of sends from it that name none; built-in templates stay TRANSACTIONAL (Herald's own flows).",
  })
  category?: MessageCategory | null;
}

export const UpdateTemplatePayload = PayloadType('UpdateTemplatePayload', { template: Template });
export type UpdateTemplatePayload = InstanceType<typeof UpdateTemplatePayload>;

@InputType()
export class ArchiveTemplateInput {
  @Field(() => ID)
  id!: string;
}

export const ArchiveTemplatePayload = PayloadType('ArchiveTemplatePayload', { template: Template });
export type ArchiveTemplatePayload = InstanceType<typeof ArchiveTemplatePayload>;

@InputType({
  description: "The fallback of sends from this template that name none: on each channel, the tenant's template of the same name.",
})
export class SetTemplateFallbackInput {
  @Field(() => ID)
  id!: string;

  @Field(() => [Channel], { description: 'Channels to try next, in order; empty: no fallback.' })
  fallback!: Channel[];

  @Field(() => Int, { nullable: true, description: 'As SendNotificationInput.fallbackAfterSeconds.' })
  fallbackAfterSeconds?: number | null;
}

export const SetTemplateFallbackPayload = PayloadType('SetTemplateFallbackPayload', { template: Template });
export type SetTemplateFallbackPayload = InstanceType<typeof SetTemplateFallbackPayload>;

@InputType({ description: "A built-in template back to Herald's text, as a new version." })
export class ResetTemplateInput {
  @Field(() => ID)
  id!: string;
}

export const ResetTemplatePayload = PayloadType('ResetTemplatePayload', { template: Template });
export type ResetTemplatePayload = InstanceType<typeof ResetTemplatePayload>;

@InputType({ description: 'A template (by id, optionally an older version), or ad-hoc text for a channel.' })
export class PreviewTemplateInput {
  @Field(() => ID, { nullable: true })
  templateId?: string | null;

  @Field(() => Int, { nullable: true })
  version?: number | null;

  @Field(() => Channel, { nullable: true })
  channel?: Channel | null;

  @Field(() => String, { nullable: true })
  subject?: string | null;

  @Field(() => String, { nullable: true })
  body?: string | null;

  @Field(() => String, { nullable: true })
  htmlBody?: string | null;

  @Field(() => JSONObjectScalar, { nullable: true })
  personalisation?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true })
  locale?: string | null;
}

@InputType({ description: "The tenant's default locale (Tenant.defaultLocale)." })
export class SetDefaultLocaleInput {
  @Field({ description: 'BCP 47 tag, e.g. fr or fr-CA.' })
  locale!: string;
}

export const SetDefaultLocalePayload = PayloadType('SetDefaultLocalePayload', { tenant: Tenant });
export type SetDefaultLocalePayload = InstanceType<typeof SetDefaultLocalePayload>;

export const PreviewTemplatePayload = PayloadType('PreviewTemplatePayload', { preview: TemplatePreview });
export type PreviewTemplatePayload = InstanceType<typeof PreviewTemplatePayload>;
