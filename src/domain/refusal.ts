// Business refusals. A service throws a Refusal when it will not do what was asked, and
// nothing is stored; the GraphQL layer turns it into the payload's `userErrors`
// (graphql/user-errors.ts), once, at the edge.
import { enumOf } from '../lib/enum-of.js';

export const USER_ERROR_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'RECIPIENT_NOT_REACHABLE',
  'NOT_SUBSCRIBED',
  'GATEWAY_NOT_CONFIGURED',
  'IDEMPOTENCY_CONFLICT',
  'INVALID_STATE',
  'MISSING_PERSONALISATION',
  'TEMPLATE_SYNTAX',
  'TEMPLATE_ARCHIVED',
  'WRONG_CHANNEL',
  'TOO_LONG',
  'OVER_BUDGET',
  'RECIPIENT_SUPPRESSED',
] as const;
export type UserErrorCode = (typeof USER_ERROR_CODES)[number];
export const UserErrorCode = enumOf(USER_ERROR_CODES);

export interface UserErrorShape {
  field?: string[] | null;
  message: string;
  code: UserErrorCode;
  /** For IDEMPOTENCY_CONFLICT: the API id of what the key already made. */
  existingId?: string | null;
}

export class Refusal extends Error {
  constructor(readonly userErrors: UserErrorShape[]) {
    super(userErrors.map((e) => e.message).join('; '));
    this.name = 'Refusal';
  }
}

export const refuse = (code: UserErrorCode, message: string, field?: string[]): Refusal => new Refusal([{ code, message, field }]);
export const invalid = (field: string[], message: string): Refusal => refuse(UserErrorCode.INVALID_INPUT, message, field);
/** A key already used for another request: `existingId` is the API id of what it made then. */
export const idempotencyConflict = (message: string, existingId: string | null): Refusal =>
  new Refusal([{ code: UserErrorCode.IDEMPOTENCY_CONFLICT, message, field: ['input', 'idempotencyKey'], existingId }]);
export const notFound = (field: string[], message: string): Refusal => refuse(UserErrorCode.NOT_FOUND, message, field);

/** Collects several field problems before refusing, so the caller sees all of them at once. */
export class Problems {
  private readonly list: UserErrorShape[] = [];
  add(field: string[], message: string, code: UserErrorCode = UserErrorCode.INVALID_INPUT): void {
    this.list.push({ field, message, code });
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new Refusal(this.list);
  }
}
