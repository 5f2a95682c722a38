import { Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/common.types.js';
import { PayloadType } from '../../graphql/payload.js';

@ObjectType({ implements: Node })
export class Tenant implements Node {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;
}

@InputType()
export class CreateTenantInput {
  @Field()
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(200, { message: 'name must be at most 200 characters' })
  name!: string;
}

export const CreateTenantPayload = PayloadType('CreateTenantPayload', {
  tenant: Tenant,
  adminKey: { type: String, description: 'An ADMIN key of the new tenant, shown once.' },
});
export type CreateTenantPayload = InstanceType<typeof CreateTenantPayload>;
