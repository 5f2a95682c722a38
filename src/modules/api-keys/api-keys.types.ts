import { Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Node, UserError } from '../../graphql/common.types.js';
import { ApiKeyRole } from '../../graphql/enums.js';

@ObjectType({ implements: Node, description: 'An API key of the tenant; its secret is never shown again after creation.' })
export class ApiKey implements Node {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => ApiKeyRole)
  role!: ApiKeyRole;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When the key was last used, to within about a minute; null if never.' })
  lastUsedAt?: Date | null;

  @Field(() => Date, {
    nullable: true,
    description: 'Set once revoked: the key is refused by every process within a second, and its open WebSocket connections are closed.',
  })
  revokedAt?: Date | null;
}

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
  @Field(() => ApiKey, { nullable: true })
  apiKey?: ApiKey | null;

  @Field(() => String, { nullable: true, description: 'The secret, shown once and never again.' })
  key?: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@InputType()
export class RevokeApiKeyInput {
  @Field(() => ID)
  @MaxLength(100, { message: 'id must be at most 100 characters' })
  id!: string;
}

@ObjectType()
export class RevokeApiKeyPayload {
  @Field(() => ApiKey, { nullable: true })
  apiKey?: ApiKey | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
