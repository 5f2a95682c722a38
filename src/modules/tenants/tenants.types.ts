import { Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Node, UserError } from '../../graphql/common.types.js';

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

@ObjectType()
export class CreateTenantPayload {
  @Field(() => Tenant, { nullable: true })
  tenant?: Tenant | null;

  @Field(() => String, { nullable: true, description: 'An ADMIN key of the new tenant, shown once.' })
  adminKey?: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
