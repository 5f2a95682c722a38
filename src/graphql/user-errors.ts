// Business refusals. Services throw a Refusal (domain/refusal.ts); class-validator failures
// arrive as type-graphql's ArgumentValidationError. Both become the mutation payload's
// `userErrors` here, once, at the edge, so no resolver maps errors by hand. A spent send
// budget (OverBudget) becomes the top-level RATE_LIMITED error here too.
import type { ValidationError } from 'class-validator';
import {
  type GraphQLObjectType,
  type GraphQLOutputType,
  getNamedType,
  getNullableType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import { ArgumentValidationError, type MiddlewareFn } from 'type-graphql';
import { OverBudget } from '../modules/budgets/budgets.service.js';
import { Refusal, UserErrorCode, type UserErrorShape } from '../domain/refusal.js';
import { rateLimited } from './errors.js';

export function validationToUserErrors(errors: ValidationError[], argName: string): UserErrorShape[] {
  const out: UserErrorShape[] = [];
  const walk = (list: ValidationError[], path: string[]) => {
    for (const error of list) {
      const here = [...path, error.property];
      const messages = Object.values(error.constraints ?? {});
      if (messages.length > 0) out.push({ field: here, message: messages[0], code: UserErrorCode.INVALID_INPUT });
      if (error.children?.length) walk(error.children, here);
    }
  };
  walk(errors, [argName]);
  return out;
}

/** Turns refusals into the payload the mutation declares; everything else passes through. */
export const RefusalsAsUserErrors: MiddlewareFn = async ({ info, args }, next) => {
  try {
    return (await next()) as unknown;
  } catch (error) {
    // Over a send budget the whole call is refused (429), as the HTTP limits do.
    if (error instanceof OverBudget) throw rateLimited(error.message, error.retryAfterSeconds);
    let userErrors: UserErrorShape[];
    if (error instanceof Refusal) userErrors = error.userErrors;
    else if (error instanceof ArgumentValidationError) {
      // class-validator can fail on input it cannot read (e.g. broken Unicode) without a list.
      const raw = error.extensions.validationErrors;
      const validationErrors = Array.isArray(raw) ? raw : [];
      if (validationErrors.length === 0) throw error;
      userErrors = validationToUserErrors(validationErrors, Object.keys(args)[0] ?? 'input');
    } else throw error;
    const payloadType = getNullableType(info.returnType);
    if (!isObjectType(payloadType) || !payloadType.getFields().userErrors) throw error;
    return emptyPayload(payloadType, args.input as Record<string, unknown> | undefined, userErrors);
  }
};

// A payload with nothing but its userErrors: nullable fields null, lists empty, and a
// required scalar echoing the input's field of that name (e.g. cycleId) or zero.
function emptyPayload(type: GraphQLObjectType, input: Record<string, unknown> | undefined, userErrors: UserErrorShape[]) {
  const payload: Record<string, unknown> = { userErrors };
  for (const [name, field] of Object.entries(type.getFields())) {
    if (name === 'userErrors') continue;
    payload[name] = emptyValue(field.type, input?.[name]);
  }
  return payload;
}

function emptyValue(type: GraphQLOutputType, echo: unknown): unknown {
  if (!isNonNullType(type)) return null;
  if (isListType(type.ofType)) return [];
  if (echo !== undefined) return echo;
  return getNamedType(type).name === 'Int' ? 0 : '';
}
