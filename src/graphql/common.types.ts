import { Matches } from 'class-validator';
import { Field, ID, InterfaceType, ObjectType } from 'type-graphql';
import { IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE } from '../domain/limits.js';
import { UserErrorCode } from './enums.js';

export { IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_RULE } from '../domain/limits.js';

/** An idempotencyKey argument (sendSms, sendInvoiceDM, updateOrderStatus): the same rule everywhere. */
export const IsIdempotencyKey = () => Matches(IDEMPOTENCY_KEY_PATTERN, { message: `idempotencyKey must be ${IDEMPOTENCY_KEY_RULE}` });

@ObjectType()
export class UserError {
  @Field(() => [String], { nullable: true, description: 'Path to the input field at fault, e.g. ["input", "clientId"].' })
  field?: string[] | null;

  @Field()
  message!: string;

  @Field(() => UserErrorCode)
  code!: UserErrorCode;

  @Field(() => ID, { nullable: true, description: 'For IDEMPOTENCY_CONFLICT: the id of what the key already made.' })
  existingId?: string | null;
}

@ObjectType()
export class PageInfo {
  @Field({
    description:
      'Older items exist past this page. Paging forward: from one extra row read with the page. Paging backward: true ' +
      'when an item the filter matches is older than this page (one indexed lookup, made only when selected); false without before.',
  })
  hasNextPage!: boolean;

  @Field({
    description:
      'Newer items exist before this page. Paging backward: from one extra row read with the page. Paging forward: true ' +
      'when an item the filter matches is newer than this page (one indexed lookup, made only when selected); false without after.',
  })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: "The first (newest) edge's cursor, to pass as before; null when the page is empty." })
  startCursor?: string | null;

  @Field(() => String, { nullable: true, description: "The last (oldest) edge's cursor, to pass as after; null when the page is empty." })
  endCursor?: string | null;
}

// Every Node is a plain row view whose GraphQL type the code that built it named in
// __typename (not a class instance type-graphql could match).
@InterfaceType({ resolveType: (value: { __typename?: string }) => value.__typename })
export abstract class Node {
  @Field(() => ID)
  id!: string;
}
