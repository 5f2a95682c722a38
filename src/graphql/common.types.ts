import { Matches } from 'class-validator';
import { Field, ID, InterfaceType, ObjectType } from 'type-graphql';
import { UserErrorCode } from './enums.js';

/** An idempotencyKey argument (sendSms, sendInvoiceDM, updateOrderStatus): the same rule everywhere. */
export const IsIdempotencyKey = () =>
  Matches(/^[\x21-\x7e]{1,255}$/, { message: 'idempotencyKey must be 1 to 255 printable ASCII characters without spaces' });

@ObjectType()
export class UserError {
  @Field(() => [String], { nullable: true, description: 'Path to the input field at fault, e.g. ["input", "clientId"].' })
  field?: string[] | null;

  @Field()
  message!: string;

  @Field(() => UserErrorCode)
  code!: UserErrorCode;
}

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor?: string | null;
}

// Every Node is a plain row view whose GraphQL type the code that built it named in
// __typename (not a class instance type-graphql could match).
@InterfaceType({ resolveType: (value: { __typename?: string }) => value.__typename })
export abstract class Node {
  @Field(() => ID)
  id!: string;
}
