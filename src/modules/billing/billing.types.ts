import { IsOptional, Matches, MaxLength, ValidateNested } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { IDEMPOTENCY_WINDOW_HOURS, MAX_INVOICES_PER_CYCLE_CALL } from '../../domain/limits.js';
import { IDEMPOTENCY_KEY_RULE, IsIdempotencyKey, UserError } from '../../graphql/common.types.js';
import { PayloadType } from '../../graphql/payload.js';
import { Message } from '../messages/messages.types.js';
import { AMOUNT_MAX_INTEGER_DIGITS, INVOICE_NUMBER_MAX, INVOICE_URL_MAX } from './invoice.js';

const AMOUNT_MAX = 32;
const CURRENCY_MAX = 8;
const DUE_DATE_MAX = 10;
const CYCLE_ID_MAX = 100;

// Field checks that depend on each other (decimals per currency, real dates) are the
// service's (billing/invoice.ts); here only sizes, so a huge value never gets that far.
@InputType()
export class InvoiceInput {
  @Field({ description: `Not blank; at most ${INVOICE_NUMBER_MAX} characters.` })
  @MaxLength(INVOICE_NUMBER_MAX, { message: `number must be at most ${INVOICE_NUMBER_MAX} characters` })
  number!: string;

  @Field({
    description: `A non-negative decimal as a string, e.g. "125.40": up to ${AMOUNT_MAX_INTEGER_DIGITS} digits before the point, no more decimals than the currency has.`,
  })
  @MaxLength(AMOUNT_MAX, { message: `amountDue must be at most ${AMOUNT_MAX} characters` })
  amountDue!: string;

  @Field({ description: 'An ISO 4217 currency code, e.g. USD.' })
  @MaxLength(CURRENCY_MAX, { message: 'currency must be an ISO 4217 code such as USD' })
  currency!: string;

  @Field({ description: 'A calendar date written YYYY-MM-DD, e.g. 2026-12-01.' })
  @MaxLength(DUE_DATE_MAX, { message: 'dueDate must be a date written YYYY-MM-DD' })
  dueDate!: string;

  @Field(() => String, { nullable: true, description: `An http(s) URL of at most ${INVOICE_URL_MAX} characters.` })
  @IsOptional()
  @MaxLength(INVOICE_URL_MAX, { message: `url must be at most ${INVOICE_URL_MAX} characters` })
  url?: string | null;
}

@InputType()
export class SendInvoiceDMInput {
  @Field(() => ID, { description: 'A CUSTOMER recipient with an X handle.' })
  customerId!: string;

  @Field(() => InvoiceInput)
  @ValidateNested()
  invoice!: InvoiceInput;

  @Field(() => String, {
    nullable: true,
    description: `${IDEMPOTENCY_KEY_RULE}. The same key and input again within ${IDEMPOTENCY_WINDOW_HOURS} hours returns the first message and sends nothing new; another input with it is an IDEMPOTENCY_CONFLICT userError whose existingId is that first message.`,
  })
  @IsOptional()
  @IsIdempotencyKey()
  idempotencyKey?: string | null;
}

export const SendInvoiceDMPayload = PayloadType('SendInvoiceDMPayload', { message: Message });
export type SendInvoiceDMPayload = InstanceType<typeof SendInvoiceDMPayload>;

@InputType()
export class BillingCycleInvoiceInput {
  @Field(() => ID)
  customerId!: string;

  @Field(() => InvoiceInput)
  @ValidateNested()
  invoice!: InvoiceInput;
}

@InputType({ description: 'A billing run that has finished: every invoice in it gets an X DM.' })
export class NotifyBillingCycleInput {
  @Field({
    description: `The billing run, not blank, at most ${CYCLE_ID_MAX} characters: an invoice number already DMed in this cycle is not DMed again.`,
  })
  @Matches(/\S/, { message: 'cycleId must not be empty' })
  @MaxLength(CYCLE_ID_MAX, { message: `cycleId must be at most ${CYCLE_ID_MAX} characters` })
  cycleId!: string;

  @Field(() => [BillingCycleInvoiceInput], {
    description: `At most ${MAX_INVOICES_PER_CYCLE_CALL} invoices per call: send a larger cycle in several calls with the same cycleId.`,
  })
  invoices!: BillingCycleInvoiceInput[];
}

@ObjectType()
export class NotifyBillingCyclePayload {
  @Field()
  cycleId!: string;

  @Field(() => Int, {
    description: 'Messages created by this call: QUEUED, or SCHEDULED to the end of quiet hours that hold TRANSACTIONAL.',
  })
  queued!: number;

  @Field(() => Int, { description: 'Invoices refused, each also written as a FAILURE delivery log.' })
  rejected!: number;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
