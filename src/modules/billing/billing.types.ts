import { IsOptional, Matches, MaxLength, ValidateNested } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { IsIdempotencyKey, UserError } from '../../graphql/common.types.js';
import { PayloadType } from '../../graphql/payload.js';
import { Message } from '../messages/messages.types.js';

// Field checks that depend on each other (decimals per currency, real dates) are the
// service's (billing/invoice.ts); here only sizes, so a huge value never gets that far.
@InputType()
export class InvoiceInput {
  @Field()
  @MaxLength(64, { message: 'number must be at most 64 characters' })
  number!: string;

  @Field({ description: 'Decimal as a string, e.g. "125.40".' })
  @MaxLength(32, { message: 'amountDue must be at most 32 characters' })
  amountDue!: string;

  @Field({ description: 'ISO 4217, e.g. USD.' })
  @MaxLength(8, { message: 'currency must be an ISO 4217 code such as USD' })
  currency!: string;

  @Field({ description: 'ISO date, e.g. 2026-12-01.' })
  @MaxLength(10, { message: 'dueDate must be a date written YYYY-MM-DD' })
  dueDate!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2048, { message: 'url must be at most 2048 characters' })
  url?: string | null;
}

@InputType()
export class SendInvoiceDMInput {
  @Field(() => ID)
  customerId!: string;

  @Field(() => InvoiceInput)
  @ValidateNested()
  invoice!: InvoiceInput;

  @Field(() => String, { nullable: true })
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
  @Field()
  @Matches(/\S/, { message: 'cycleId must not be empty' })
  @MaxLength(100, { message: 'cycleId must be at most 100 characters' })
  cycleId!: string;

  @Field(() => [BillingCycleInvoiceInput])
  invoices!: BillingCycleInvoiceInput[];
}

@ObjectType()
export class NotifyBillingCyclePayload {
  @Field()
  cycleId!: string;

  @Field(() => Int, { description: 'Messages created (QUEUED) by this call.' })
  queued!: number;

  @Field(() => Int, { description: 'Invoices refused, each also written as a FAILURE delivery log.' })
  rejected!: number;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
