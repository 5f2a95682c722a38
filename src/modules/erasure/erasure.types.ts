import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { UserError } from '../../graphql/common.types.js';

@InputType()
export class EraseRecipientInput {
  @Field(() => ID)
  id!: string;
}

// Written out rather than made by PayloadType, whose fields are object types or String, all nullable.
@ObjectType()
export class EraseRecipientPayload {
  @Field(() => ID, { nullable: true, description: 'The recipient erased: it keeps this id and its kind, nothing else of the person.' })
  erasedId?: string | null;

  @Field(() => Int, { description: 'Messages whose body and destination were erased.' })
  messagesErased!: number;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
