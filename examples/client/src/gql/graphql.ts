/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Channels a message can travel on. */
export type Channel =
  | 'EMAIL'
  | 'SMS'
  | 'TWITTER_DM'
  | 'WHATSAPP';

export type CreateRecipientInput = {
  /** Not blank; at most 200 characters. */
  displayName: string;
  /** An e-mail address, at most 254 characters, e.g. jane@example.com. null clears it. */
  email?: string | null | undefined;
  /** The id this recipient has in the calling system; not blank, at most 128 characters. */
  externalRef?: string | null | undefined;
  kind: RecipientKind;
  /** A phone number with its country code, at most 32 characters, e.g. +14155550123; stored as E.164. null clears it. */
  phone?: string | null | undefined;
  /** The zone quiet hours are kept in for this recipient: an IANA time zone such as America/Toronto, Europe/London or UTC. null: the tenant's defaultTimeZone (on update, null clears it). */
  timeZone?: string | null | undefined;
  /** Twitter/X username: 1 to 15 letters, digits or _, with or without the leading @. null clears it. */
  twitterHandle?: string | null | undefined;
  /** The number registered on WhatsApp, with its country code, at most 32 characters; stored as E.164. null clears it. */
  whatsapp?: string | null | undefined;
};

export type MessageCategory =
  /** Promotion: what quiet hours hold unless their window lists more, and what STOP and unsubscribe always stop. */
  | 'MARKETING'
  /** What the recipient is waiting for (a code, an order, an invoice): the default. */
  | 'TRANSACTIONAL';

/**
 * Lifecycle of a message. SCHEDULED waits for sendAt or the end of quiet hours; QUEUED
 * waits for a worker; SENDING is with a worker; SENT was accepted by the provider;
 * DELIVERED was confirmed by the provider's delivery receipt; FAILED is final after
 * retries or a permanent provider error; CANCELLED was cancelled before sending.
 */
export type MessageStatus =
  | 'CANCELLED'
  | 'DELIVERED'
  | 'FAILED'
  | 'QUEUED'
  | 'SCHEDULED'
  | 'SENDING'
  | 'SENT';

export type RecipientKind =
  | 'CLIENT'
  | 'CUSTOMER'
  | 'STAFF';

/** Exactly one of clientId and staffId. There is deliberately no way to send to a raw phone number. */
export type SendSmsInput = {
  /** What the message is for; default TRANSACTIONAL. Quiet hours (setQuietHours) hold the categories their window lists. */
  category?: MessageCategory | null | undefined;
  clientId?: string | number | null | undefined;
  /** Channels to try next, in order, when this message FAILS or is not DELIVERED within fallbackAfterSeconds. Each is used only if the recipient can be reached on it then (else a FAILURE log says why and the next is tried). */
  fallback?: Array<Channel> | null | undefined;
  /** Fall back when the message is SENT but not DELIVERED within this many seconds (1 to 259,200), on channels that report delivery (SMS, WHATSAPP, EMAIL). Without it, only a FAILED message falls back. */
  fallbackAfterSeconds?: number | null | undefined;
  /** 1 to 255 printable ASCII characters without spaces. The same key and input again within 24 hours returns the first message and sends nothing new; another input with it is an IDEMPOTENCY_CONFLICT userError whose existingId is that first message. */
  idempotencyKey?: string | null | undefined;
  /** The SMS text: not blank, at most 1600 characters (longer than one SMS segment is sent as several, joined on the phone). */
  message: string;
  /** Send later: an ISO 8601 date-time with offset, e.g. 2026-12-01T09:00:00Z, at most 366 days ahead; omitted or in the past means now. */
  sendAt?: string | null | undefined;
  staffId?: string | number | null | undefined;
  /** Ignore quiet hours: the message goes at sendAt (else now) even inside the channel's window. Without it, a message of a category the window holds, that would go inside the window in the recipient's time zone, is SCHEDULED to the window's end (Message.scheduledAt). */
  urgent?: boolean | null | undefined;
};

export type UserErrorCode =
  | 'GATEWAY_NOT_CONFIGURED'
  | 'IDEMPOTENCY_CONFLICT'
  | 'INVALID_INPUT'
  | 'INVALID_STATE'
  | 'MISSING_PERSONALISATION'
  | 'NOT_FOUND'
  | 'NOT_SUBSCRIBED'
  | 'OVER_BUDGET'
  | 'RECIPIENT_NOT_REACHABLE'
  | 'RECIPIENT_SUPPRESSED'
  | 'TEMPLATE_ARCHIVED'
  | 'TEMPLATE_SYNTAX'
  | 'TOO_LONG'
  | 'WRONG_CHANNEL';

export type CreateRecipientMutationVariables = Exact<{
  input: CreateRecipientInput;
}>;


export type CreateRecipientMutation = { createRecipient: { recipient: { id: string, displayName: string, phone: string | null } | null, userErrors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type SendSmsMutationVariables = Exact<{
  input: SendSmsInput;
}>;


export type SendSmsMutation = { sendSms: { message: { id: string, status: MessageStatus, destination: string | null } | null, userErrors: Array<{ code: UserErrorCode, message: string, field: Array<string> | null }> } };

export type MessageStatusChangedSubscriptionVariables = Exact<{
  messageId: string | number;
}>;


export type MessageStatusChangedSubscription = { messageStatusChanged: { id: string, status: MessageStatus, sentAt: string | null, deliveredAt: string | null, errorCode: string | null, errorMessage: string | null } };

export type MessagesQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
}>;


export type MessagesQuery = { messages: { totalCount: number, pageInfo: { endCursor: string | null, hasNextPage: boolean }, edges: Array<{ node: { id: string, status: MessageStatus, createdAt: string, recipient: { displayName: string } } }> } };


export const CreateRecipientDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateRecipient"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateRecipientInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createRecipient"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"recipient"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"phone"}}]}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}}]}}]}}]}}]} as unknown as DocumentNode<CreateRecipientMutation, CreateRecipientMutationVariables>;
export const SendSmsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SendSms"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SendSmsInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"sendSms"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"destination"}}]}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"field"}}]}}]}}]}}]} as unknown as DocumentNode<SendSmsMutation, SendSmsMutationVariables>;
export const MessageStatusChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"MessageStatusChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"messageId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"messageStatusChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"messageId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"messageId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"sentAt"}},{"kind":"Field","name":{"kind":"Name","value":"deliveredAt"}},{"kind":"Field","name":{"kind":"Name","value":"errorCode"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}}]}}]}}]} as unknown as DocumentNode<MessageStatusChangedSubscription, MessageStatusChangedSubscriptionVariables>;
export const MessagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Messages"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"messages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"endCursor"}},{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"recipient"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<MessagesQuery, MessagesQueryVariables>;