import { Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/common.types.js';
import { PayloadType } from '../../graphql/payload.js';

const NAME_MAX = 200;

@ObjectType({ implements: Node })
export class Tenant implements Node {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({
    description:
      "BCP 47 tag (en unless set with setDefaultLocale): the locale of a send that names none (Herald's own flows included), and the defaultLocale of a new template that names none, which its variants fall back to.",
  })
  defaultLocale!: string;

  @Field(() => Int, {
    description:
      'Messages, logs, receipts and events older than this are purged (daily counts are kept). Days; 30 unless set with setRetention.',
  })
  retentionDays!: number;

  @Field()
  createdAt!: Date;
}

@InputType()
export class CreateTenantInput {
  @Field({ description: `Not blank; at most ${NAME_MAX} characters.` })
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(NAME_MAX, { message: `name must be at most ${NAME_MAX} characters` })
  name!: string;
}

export const CreateTenantPayload = PayloadType('CreateTenantPayload', {
  tenant: Tenant,
  adminKey: { type: String, description: 'An ADMIN key of the new tenant, shown once.' },
});
export type CreateTenantPayload = InstanceType<typeof CreateTenantPayload>;
