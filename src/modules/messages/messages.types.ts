import { IsOptional, Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { IDEMPOTENCY_WINDOW_HOURS, MAX_BODY_LENGTH, MAX_SCHEDULE_AHEAD_DAYS } from '../../domain/limits.js';
import { IDEMPOTENCY_KEY_RULE, IsIdempotencyKey, Node } from '../../graphql/common.types.js';
import { ConnectionType } from '../../graphql/connection.js';
import { FILTER_RULE } from '../../graphql/filters.js';
import { Channel, DeliveryOutcome, MessageCategory, MessageStatus, SmsEncoding } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';
import { Gateway } from '../gateways/gateways.types.js';
import { Recipient } from '../recipients/recipients.types.js';
import { Template } from '../templates/templates.types.js';
import { MAX_FALLBACK_AFTER_SECONDS } from '../fallback/fallback.js';

export const MAX_SMS_LENGTH = MAX_BODY_LENGTH.SMS;

export const FALLBACK_DESCRIPTION =
  'Channels to try next, in order, when this message FAILS or is not DELIVERED within fallbackAfterSeconds. Each is used only if the recipient can be reached on it then (else a FAILURE log says why and the next is tried).';
export const CATEGORY_DESCRIPTION =
  'What the message is for; default TRANSACTIONAL. Quiet hours (setQuietHours) hold the categories their window lists.';
export const URGENT_DESCRIPTION =
  "Ignore quiet hours: the message goes at sendAt (else now) even inside the channel's window. Without it, a message of a category the window holds, that would go inside the window in the recipient's time zone, is SCHEDULED to the window's end (Message.scheduledAt).";

export const FALLBACK_AFTER_DESCRIPTION = `Fall back when the message is SENT but not DELIVERED within this many seconds (1 to ${MAX_FALLBACK_AFTER_SECONDS.toLocaleString('en-US')}), on channels that report delivery (SMS, WHATSAPP, EMAIL). Without it, only a FAILED message falls back.`;

@ObjectType()
export class InvoiceRef {
  @Field()
  number!: string;

  @Field()
  amountDue!: string;

  @Field()
  currency!: string;

  @Field()
  dueDate!: string;
}

@ObjectType({ implements: Node })
export class Message implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => MessageStatus)
  status!: MessageStatus;

  @Field(() => MessageCategory)
  category!: MessageCategory;

  @Field(() => Recipient)
  recipient!: Recipient;

  @Field(() => Gateway, { nullable: true })
  gateway?: Gateway | null;

  @Field()
  body!: string;

  @Field(() => String, { nullable: true })
  subject?: string | null;

  @Field(() => String, { nullable: true, description: 'Where it was sent, masked (e.g. +1*******0123), never the full number or address.' })
  destination?: string | null;

  @Field(() => Date, {
    nullable: true,
    description:
      "When a SCHEDULED message goes: its sendAt, or the end of the quiet hours it was accepted in (in the recipient's time zone).",
  })
  scheduledAt?: Date | null;

  @Field(() => Date, { nullable: true })
  sentAt?: Date | null;

  @Field(() => Date, { nullable: true })
  deliveredAt?: Date | null;

  @Field(() => Int)
  attempts!: number;

  @Field(() => String, { nullable: true })
  providerMessageId?: string | null;

  @Field(() => String, { nullable: true })
  errorCode?: string | null;

  @Field(() => String, { nullable: true })
  errorMessage?: string | null;

  @Field(() => String, { nullable: true })
  orderId?: string | null;

  @Field(() => InvoiceRef, { nullable: true })
  invoice?: InvoiceRef | null;

  @Field(() => [DeliveryLog])
  logs!: DeliveryLog[];

  @Field(() => Template, { nullable: true, description: 'The template the text was rendered from; null for free text.' })
  template?: Template | null;

  @Field(() => Int, { nullable: true, description: 'The version of `template` the text was rendered from.' })
  templateVersion?: number | null;

  @Field(() => String, { nullable: true, description: "The template variant's locale." })
  locale?: string | null;

  @Field(() => String, { nullable: true, description: "The caller's own reference (sendNotification)." })
  reference?: string | null;

  @Field(() => SmsEncoding, { nullable: true, description: 'SMS and WHATSAPP: as stored at send time.' })
  encoding?: SmsEncoding | null;

  @Field(() => Int, { nullable: true, description: 'SMS and WHATSAPP: segments the text is billed as (160/153 GSM-7, 70/67 UCS-2).' })
  segments?: number | null;

  @Field(() => Message, { nullable: true, description: 'The message this one is the fallback of.' })
  fallbackOf?: Message | null;

  @Field(() => [Message], { description: "Messages sent (or waiting) as this one's fallbacks." })
  fallbacks!: Message[];

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  dbId!: string;
  fallbackOfDbId!: string | null;
  recipientDbId!: string;
  gatewayDbId!: string | null;
  templateDbId!: string | null;
}

@ObjectType({
  implements: Node,
  description: 'One attempt, success or failure, to deliver a notification (a message, or a refusal before one existed).',
})
export class DeliveryLog implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => DeliveryOutcome)
  outcome!: DeliveryOutcome;

  @Field(() => Channel, { nullable: true })
  channel?: Channel | null;

  @Field(() => Message, { nullable: true })
  message?: Message | null;

  @Field(() => Recipient, { nullable: true })
  recipient?: Recipient | null;

  @Field(() => Gateway, { nullable: true })
  gateway?: Gateway | null;

  @Field(() => String, { nullable: true, description: 'Why it failed, in words a support person understands.' })
  reason?: string | null;

  @Field(() => String, { nullable: true })
  orderId?: string | null;

  @Field(() => String, { nullable: true })
  orderStatus?: string | null;

  @Field()
  at!: Date;

  messageDbId!: string | null;
  recipientDbId!: string | null;
  gatewayDbId!: string | null;
}

export const MessageConnection = ConnectionType('Message', Message);
export const DeliveryLogConnection = ConnectionType('DeliveryLog', DeliveryLog);

@InputType({ description: `Which messages to list. ${FILTER_RULE}` })
export class MessageFilter {
  @Field(() => [MessageStatus], { nullable: true, description: 'Messages in any of these statuses.' })
  status?: MessageStatus[] | null;

  @Field(() => [Channel], { nullable: true, description: 'Messages on any of these channels.' })
  channel?: Channel[] | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Messages to this recipient; an id that names none of your recipients (of another type, malformed) matches nothing.',
  })
  recipientId?: string | null;

  @Field(() => String, { nullable: true })
  orderId?: string | null;

  @Field(() => String, { nullable: true })
  invoiceNumber?: string | null;

  @Field(() => Date, { nullable: true })
  createdAfter?: Date | null;

  @Field(() => Date, { nullable: true })
  createdBefore?: Date | null;
}

@InputType({ description: `Which delivery logs to list. ${FILTER_RULE}` })
export class DeliveryLogFilter {
  @Field(() => DeliveryOutcome, { nullable: true })
  outcome?: DeliveryOutcome | null;

  @Field(() => Channel, { nullable: true })
  channel?: Channel | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Logs of this recipient; an id that names none of your recipients (of another type, malformed) matches nothing.',
  })
  recipientId?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Logs of this message; an id that names none of your messages (of another type, malformed) matches nothing.',
  })
  messageId?: string | null;

  @Field(() => String, { nullable: true })
  orderId?: string | null;
}

@InputType({ description: 'Exactly one of clientId and staffId. There is deliberately no way to send to a raw phone number.' })
export class SendSmsInput {
  @Field(() => ID, { nullable: true })
  clientId?: string | null;

  @Field(() => ID, { nullable: true })
  staffId?: string | null;

  @Field({
    description: `The SMS text: not blank, at most ${MAX_SMS_LENGTH} characters (longer than one SMS segment is sent as several, joined on the phone).`,
  })
  @Matches(/\S/, { message: 'message must not be empty' })
  @MaxLength(MAX_SMS_LENGTH, { message: `message must be at most ${MAX_SMS_LENGTH} characters` })
  message!: string;

  @Field(() => Date, {
    nullable: true,
    description: `Send later: an ISO 8601 date-time with offset, e.g. 2026-12-01T09:00:00Z, at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead; omitted or in the past means now.`,
  })
  sendAt?: Date | null;

  @Field(() => String, {
    nullable: true,
    description: `${IDEMPOTENCY_KEY_RULE}. The same key and input again within ${IDEMPOTENCY_WINDOW_HOURS} hours returns the first message and sends nothing new; another input with it is an IDEMPOTENCY_CONFLICT userError whose existingId is that first message.`,
  })
  @IsOptional()
  @IsIdempotencyKey()
  idempotencyKey?: string | null;

  @Field(() => [Channel], { nullable: true, description: FALLBACK_DESCRIPTION })
  fallback?: Channel[] | null;

  @Field(() => Int, { nullable: true, description: FALLBACK_AFTER_DESCRIPTION })
  fallbackAfterSeconds?: number | null;

  @Field(() => MessageCategory, { nullable: true, description: CATEGORY_DESCRIPTION })
  category?: MessageCategory | null;

  @Field(() => Boolean, { nullable: true, description: URGENT_DESCRIPTION })
  urgent?: boolean | null;
}

export const SendSmsPayload = PayloadType('SendSmsPayload', { message: Message });
export type SendSmsPayload = InstanceType<typeof SendSmsPayload>;

@InputType()
export class CancelMessageInput {
  @Field(() => ID)
  id!: string;
}

export const CancelMessagePayload = PayloadType('CancelMessagePayload', { message: Message });
export type CancelMessagePayload = InstanceType<typeof CancelMessagePayload>;

@InputType()
export class RetryMessageInput {
  @Field(() => ID)
  id!: string;
}

export const RetryMessagePayload = PayloadType('RetryMessagePayload', { message: Message });
export type RetryMessagePayload = InstanceType<typeof RetryMessagePayload>;
