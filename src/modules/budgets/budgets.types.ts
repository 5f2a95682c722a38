import { ArrayMaxSize, IsOptional, Matches, Max, Min } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { PayloadType } from '../../graphql/payload.js';
import { Tenant } from '../tenants/tenants.types.js';

const MAX_BUDGET = 1_000_000_000;
const MAX_HOME_COUNTRIES = 50;

@ObjectType({
  description: "A tenant's send budgets (its own, else the environment's defaults; 0 = no limit) and what the current windows used.",
})
export class SendBudget {
  @Field(() => Int, { description: 'Messages the tenant may queue per minute.' })
  perMinute!: number;

  @Field(() => Int, { description: 'Messages the tenant may queue per day.' })
  perDay!: number;

  @Field(() => Int, { description: 'SMS and WhatsApp messages per day to numbers outside homeCountries.' })
  internationalPerDay!: number;

  @Field(() => [String], { description: 'ISO 3166 country codes whose numbers are not international.' })
  homeCountries!: string[];

  @Field(() => Int)
  usedThisMinute!: number;

  @Field(() => Int)
  usedToday!: number;

  @Field(() => Int)
  internationalUsedToday!: number;

  @Field(() => Date, { nullable: true, description: 'When the minute window ends (null: none open).' })
  minuteResetsAt?: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the day window ends (null: none open).' })
  dayResetsAt?: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the international day window ends (null: none open).' })
  internationalResetsAt?: Date | null;
}

@InputType({ description: "Each budget given replaces the tenant's; null returns it to the environment's default; left out, it stays." })
export class SetSendBudgetInput {
  @Field(() => ID)
  tenantId!: string;

  @Field(() => Int, { nullable: true, description: `0 (no limit) to ${MAX_BUDGET}.` })
  @IsOptional()
  @Min(0, { message: 'perMinute must be 0 (no limit) or more' })
  @Max(MAX_BUDGET, { message: `perMinute must be at most ${MAX_BUDGET}` })
  perMinute?: number | null;

  @Field(() => Int, { nullable: true, description: `0 (no limit) to ${MAX_BUDGET}.` })
  @IsOptional()
  @Min(0, { message: 'perDay must be 0 (no limit) or more' })
  @Max(MAX_BUDGET, { message: `perDay must be at most ${MAX_BUDGET}` })
  perDay?: number | null;

  @Field(() => Int, { nullable: true, description: `0 (no limit) to ${MAX_BUDGET}.` })
  @IsOptional()
  @Min(0, { message: 'internationalPerDay must be 0 (no limit) or more' })
  @Max(MAX_BUDGET, { message: `internationalPerDay must be at most ${MAX_BUDGET}` })
  internationalPerDay?: number | null;

  @Field(() => [String], {
    nullable: true,
    description: `ISO 3166 alpha-2 codes, such as ["US", "CA"]; at most ${MAX_HOME_COUNTRIES}.`,
  })
  @IsOptional()
  @ArrayMaxSize(MAX_HOME_COUNTRIES, { message: `homeCountries may list at most ${MAX_HOME_COUNTRIES} countries` })
  @Matches(/^[A-Za-z]{2}$/, { each: true, message: 'homeCountries must be ISO 3166 two-letter country codes such as US' })
  homeCountries?: string[] | null;
}

export const SetSendBudgetPayload = PayloadType('SetSendBudgetPayload', { tenant: Tenant, sendBudget: SendBudget });
export type SetSendBudgetPayload = InstanceType<typeof SetSendBudgetPayload>;
