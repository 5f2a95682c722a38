// The framework floor's server (forked by scripts/bench/floor.mjs): Herald's own stack and
// installed versions (Fastify, @apollo/server through @as-integrations/fastify, type-graphql
// with class-validator, pg) serving one mutation of sendSms's shape that does one
// autocommit INSERT. No auth, no routing, no queue: what any server on this stack pays to
// accept a message, which Herald's sendSms is measured against.
//
// Environment: FLOOR_DATABASE_URL, FLOOR_TABLE (a table shaped like bench_raw_messages).
// Tells its parent { port } over IPC once listening; SIGTERM closes it.
//
// Plain JS has no decorator syntax: the decorators are applied as functions, in the order
// TypeScript applies them (members, then parameters before their method, then the class).
import 'reflect-metadata';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import { IsOptional, Matches, MaxLength } from 'class-validator';
import Fastify from 'fastify';
import pg from 'pg';
import { Arg, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver, buildSchema, registerEnumType } from 'type-graphql';
import { uuidv7 } from './lib.mjs';

const url = process.env.FLOOR_DATABASE_URL;
const table = process.env.FLOOR_TABLE;
if (!url || !/^[a-z_][a-z0-9_]*$/.test(table ?? '')) {
  console.error('floor-server: FLOOR_DATABASE_URL and FLOOR_TABLE (a plain table name) are required');
  process.exit(2);
}

// The enums SendSmsInput and its payload use, as Herald's GraphQL schema names them.
const Channel = enumOf(['SMS', 'EMAIL', 'WHATSAPP', 'TWITTER_DM']);
const MessageCategory = enumOf(['TRANSACTIONAL', 'MARKETING']);
const MessageStatus = enumOf(['SCHEDULED', 'QUEUED', 'SENDING', 'SENT', 'DELIVERED', 'FAILED', 'CANCELLED']);
const UserErrorCode = enumOf(['INVALID_INPUT', 'NOT_FOUND']);
registerEnumType(Channel, { name: 'Channel' });
registerEnumType(MessageCategory, { name: 'MessageCategory' });
registerEnumType(MessageStatus, { name: 'MessageStatus' });
registerEnumType(UserErrorCode, { name: 'UserErrorCode' });

// SendSmsInput's fields and class-validator rules (src/modules/messages/messages.types.ts).
const MAX_SMS_LENGTH = 1600;
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
class SendSmsInput {}
field(SendSmsInput, 'clientId', () => ID, { nullable: true });
field(SendSmsInput, 'staffId', () => ID, { nullable: true });
MaxLength(MAX_SMS_LENGTH, { message: `message must be at most ${MAX_SMS_LENGTH} characters` })(SendSmsInput.prototype, 'message');
Matches(/\S/, { message: 'message must not be empty' })(SendSmsInput.prototype, 'message');
field(SendSmsInput, 'message', () => String);
field(SendSmsInput, 'sendAt', () => Date, { nullable: true });
Matches(IDEMPOTENCY_KEY_PATTERN, { message: 'idempotencyKey must be 1 to 255 printable ASCII characters without spaces' })(
  SendSmsInput.prototype,
  'idempotencyKey',
);
IsOptional()(SendSmsInput.prototype, 'idempotencyKey');
field(SendSmsInput, 'idempotencyKey', () => String, { nullable: true });
field(SendSmsInput, 'fallback', () => [Channel], { nullable: true });
field(SendSmsInput, 'fallbackAfterSeconds', () => Int, { nullable: true });
field(SendSmsInput, 'category', () => MessageCategory, { nullable: true });
field(SendSmsInput, 'urgent', () => Boolean, { nullable: true });
InputType()(SendSmsInput);

class Message {}
field(Message, 'id', () => ID);
field(Message, 'status', () => MessageStatus);
ObjectType()(Message);

class UserError {}
field(UserError, 'field', () => [String], { nullable: true });
field(UserError, 'message', () => String);
field(UserError, 'code', () => UserErrorCode);
ObjectType()(UserError);

class SendSmsPayload {}
field(SendSmsPayload, 'message', () => Message, { nullable: true });
field(SendSmsPayload, 'userErrors', () => [UserError]);
ObjectType()(SendSmsPayload);

const pool = new pg.Pool({ connectionString: url, max: 20 });
const tenantId = uuidv7(Date.now());
const insert = `insert into ${table} (id, tenant_id, recipient_id, channel, status, body, destination, scheduled_at, created_at)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;

class FloorResolver {
  // A schema needs a query type.
  floor() {
    return 'ok';
  }

  async sendSms(input) {
    const now = new Date();
    const id = uuidv7(now.getTime());
    await pool.query(insert, [id, tenantId, input.clientId, 'SMS', 'QUEUED', input.message, '+14155550123', input.sendAt ?? null, now]);
    return { message: { id, status: 'QUEUED' }, userErrors: [] };
  }
}
method(
  FloorResolver,
  'floor',
  Query(() => String),
);
Arg('input', () => SendSmsInput)(FloorResolver.prototype, 'sendSms', 0);
method(
  FloorResolver,
  'sendSms',
  Mutation(() => SendSmsPayload),
);
Resolver()(FloorResolver);

const schema = await buildSchema({
  resolvers: [FloorResolver],
  // As Herald's src/graphql/schema.ts: class-validator runs on every input.
  validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
});

const app = Fastify({ logger: false });
const apollo = new ApolloServer({
  schema,
  csrfPrevention: false,
  includeStacktraceInErrorResponses: false,
  // Herald turns off these two as well; neither does anything a mutation needs.
  plugins: [fastifyApolloDrainPlugin(app), ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled()],
});
await apollo.start();
app.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler: fastifyApolloHandler(apollo) });
await app.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ port: app.server.address().port });

process.once('SIGTERM', async () => {
  await app.close();
  await pool.end();
  process.exit(0);
});

function field(cls, name, type, options) {
  Field(type, options)(cls.prototype, name);
}

function method(cls, name, decorator) {
  decorator(cls.prototype, name, Object.getOwnPropertyDescriptor(cls.prototype, name));
}

function enumOf(values) {
  return Object.fromEntries(values.map((v) => [v, v]));
}
