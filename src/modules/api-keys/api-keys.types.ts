import { Matches, MaxLength } from 'class-validator';
import { Field, InputType, ObjectType } from 'type-graphql';
import { UserError } from '../../graphql/common.types.js';
import { ApiKeyRole } from '../../graphql/enums.js';

@InputType()
export class CreateApiKeyInput {
  @Field()
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(100, { message: 'name must be at most 100 characters' })
  name!: string;

  @Field(() => ApiKeyRole)
  role!: ApiKeyRole;
}

@ObjectType()
export class CreateApiKeyPayload {
  @Field(() => String, { nullable: true, description: 'The secret, shown once and never again.' })
  key?: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
