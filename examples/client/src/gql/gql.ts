/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation CreateRecipient($input: CreateRecipientInput!) {\n    createRecipient(input: $input) {\n      recipient {\n        id\n        displayName\n        phone\n      }\n      userErrors {\n        code\n        message\n        field\n      }\n    }\n  }\n": typeof types.CreateRecipientDocument,
    "\n  mutation SendSms($input: SendSmsInput!) {\n    sendSms(input: $input) {\n      message {\n        id\n        status\n        destination\n      }\n      userErrors {\n        code\n        message\n        field\n      }\n    }\n  }\n": typeof types.SendSmsDocument,
    "\n  subscription MessageStatusChanged($messageId: ID!) {\n    messageStatusChanged(messageId: $messageId) {\n      id\n      status\n      sentAt\n      deliveredAt\n      errorCode\n      errorMessage\n    }\n  }\n": typeof types.MessageStatusChangedDocument,
    "\n  query Messages($first: Int!, $after: String) {\n    messages(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          id\n          status\n          createdAt\n          recipient {\n            displayName\n          }\n        }\n      }\n    }\n  }\n": typeof types.MessagesDocument,
};
const documents: Documents = {
    "\n  mutation CreateRecipient($input: CreateRecipientInput!) {\n    createRecipient(input: $input) {\n      recipient {\n        id\n        displayName\n        phone\n      }\n      userErrors {\n        code\n        message\n        field\n      }\n    }\n  }\n": types.CreateRecipientDocument,
    "\n  mutation SendSms($input: SendSmsInput!) {\n    sendSms(input: $input) {\n      message {\n        id\n        status\n        destination\n      }\n      userErrors {\n        code\n        message\n        field\n      }\n    }\n  }\n": types.SendSmsDocument,
    "\n  subscription MessageStatusChanged($messageId: ID!) {\n    messageStatusChanged(messageId: $messageId) {\n      id\n      status\n      sentAt\n      deliveredAt\n      errorCode\n      errorMessage\n    }\n  }\n": types.MessageStatusChangedDocument,
    "\n  query Messages($first: Int!, $after: String) {\n    messages(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          id\n          status\n          createdAt\n          recipient {\n            displayName\n          }\n        }\n      }\n    }\n  }\n": types.MessagesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRecipient($input: CreateRecipientInput!) {\n    createRecipient(input: $input) {\n      recipient {\n        id\n        displayName\n        phone\n      }\n      userErrors {\n        code\n        message\n        field\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateRecipient($input: CreateRecipientInput!) {\n    createRecipient(input: $input) {\n      recipient {\n        id\n        displayName\n        phone\n      }\n      userErrors {\n        code\n        message\n        field\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendSms($input: SendSmsInput!) {\n    sendSms(input: $input) {\n      message {\n        id\n        status\n        destination\n      }\n      userErrors {\n        code\n        message\n        field\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SendSms($input: SendSmsInput!) {\n    sendSms(input: $input) {\n      message {\n        id\n        status\n        destination\n      }\n      userErrors {\n        code\n        message\n        field\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MessageStatusChanged($messageId: ID!) {\n    messageStatusChanged(messageId: $messageId) {\n      id\n      status\n      sentAt\n      deliveredAt\n      errorCode\n      errorMessage\n    }\n  }\n"): (typeof documents)["\n  subscription MessageStatusChanged($messageId: ID!) {\n    messageStatusChanged(messageId: $messageId) {\n      id\n      status\n      sentAt\n      deliveredAt\n      errorCode\n      errorMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Messages($first: Int!, $after: String) {\n    messages(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          id\n          status\n          createdAt\n          recipient {\n            displayName\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Messages($first: Int!, $after: String) {\n    messages(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          id\n          status\n          createdAt\n          recipient {\n            displayName\n          }\n        }\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;