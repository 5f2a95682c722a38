import { Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/common.types.js';
import { ApiKeyRole } from '../../graphql/enums.js';
import { PayloadType } from '../../graphql/payload.js';

const NAME_MAX = 100;
const ID_MAX = 100;

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
  @Field({ description: `Not blank; at most ${NAME_MAX} characters.` })
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(NAME_MAX, { message: `name must be at most ${NAME_MAX} characters` })
  name!: string;

  @Field(() => ApiKeyRole)
  role!: ApiKeyRole;
}

export const CreateApiKeyPayload = PayloadType('CreateApiKeyPayload', {
  apiKey: ApiKey,
  key: { type: String, description: 'The secret, shown once and never again.' },
});
export type CreateApiKeyPayload = InstanceType<typeof CreateApiKeyPayload>;

@InputType()
export class RevokeApiKeyInput {
  @Field(() => ID, { description: `An ApiKey id; at most ${ID_MAX} characters.` })
  @MaxLength(ID_MAX, { message: `id must be at most ${ID_MAX} characters` })
  id!: string;
}

export const RevokeApiKeyPayload = PayloadType('RevokeApiKeyPayload', { apiKey: ApiKey });
export type RevokeApiKeyPayload = InstanceType<typeof RevokeApiKeyPayload>;
