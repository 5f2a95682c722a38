// Mutation payloads, GitHub/Relay style: what the mutation made or changed (null when it
// was refused), then `userErrors`. One generic type, as ConnectionType is for connections.
import { type ClassType, Field, ObjectType } from 'type-graphql';
import { UserError } from './common.types.js';

type Output = ClassType | StringConstructor;
/** A payload field: its type, or its type and an SDL description. Every one is nullable. */
type PayloadField = Output | { type: Output; description: string };
type ValueOf<F> = F extends { type: infer T }
  ? ValueOf<T>
  : F extends StringConstructor
    ? string
    : F extends ClassType<infer T>
      ? T
      : never;

export type PayloadShape<F extends Record<string, PayloadField>> = { [K in keyof F]?: ValueOf<F[K]> | null } & { userErrors: UserError[] };

/**
 * The `name` object type: the `fields` in their order, each nullable, then `userErrors`.
 * `export const SendSmsPayload = PayloadType('SendSmsPayload', { message: Message });`
 * with `export type SendSmsPayload = InstanceType<typeof SendSmsPayload>;` for resolvers.
 */
export function PayloadType<F extends Record<string, PayloadField>>(name: string, fields: F): ClassType<PayloadShape<F>> {
  @ObjectType(name)
  class Payload {}
  for (const [fieldName, field] of Object.entries(fields)) {
    const { type, description } = 'type' in field ? field : { type: field, description: undefined };
    Field(() => type, { nullable: true, description })(Payload.prototype, fieldName);
  }
  Field(() => [UserError])(Payload.prototype, 'userErrors');
  return Payload as ClassType<PayloadShape<F>>;
}
