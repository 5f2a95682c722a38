// Limits on what one GraphQL operation may ask for, checked before any resolver runs
// (OWASP GraphQL cheat sheet), the same over HTTP (http/app.ts) and WebSocket
// (http/subscriptions.ts):
// - at parse: tokens (graphql-js maxTokens);
// - at validation, on the whole document: documentRules (directives, by graphql-armor) and
//   graphql-js's own rules, MaxIntrospectionDepthRule among them;
// - on the operation that will run (chosen by operationName) with its variables:
//   checkOperation (depth, a cost budget that counts page sizes and counts, aliases, strings).
// Depth and cost are not validation rules: validation sees neither operationName nor
// variables (`first: $n`), and Apollo skips it for a document it has validated before.
// Batching is refused by Apollo, page sizes over 100 by the connections themselves.
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
  getNamedType,
  getNullableType,
  getOperationAST,
  isInterfaceType,
  isListType,
  isObjectType,
  valueFromASTUntyped,
  visit,
} from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './connection.js';

export interface QueryLimits {
  /** Most fields on one path from the root: `{ viewer { name } }` is 2. */
  maxDepth: number;
  /** Most objects an operation may ask for (see measureOperation). */
  maxCost: number;
  /** Most aliases in one document. */
  maxAliases: number;
  /** Most directives in one operation, fragments spread included. */
  maxDirectives: number;
}

/** What a list field without `first` (logs, subscriptions, gateways…) is assumed to hold. */
export const UNPAGED_LIST_ESTIMATE = 10;

/**
 * What a connection's totalCount costs: a COUNT reads up to MAX_TOTAL_COUNT index entries,
 * far more than a page. Set so that 25 counts go over the default budget of 5,000 whatever
 * else the operation asks for.
 */
export const TOTAL_COUNT_COST = 200;

/** Root fields of introspection: checked by MaxIntrospectionDepthRule, not counted here. */
const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

export interface OperationMeasure {
  depth: number;
  cost: number;
  aliases: number;
  /** Whether a page size came from a variable (else the measure holds for any variables). */
  readsVariables?: boolean;
}

/**
 * Measures an operation against the schema. Cost is the number of objects it can return:
 * every object field counts 1, a list multiplies its items' cost by its size: `first` (or
 * the default page size) for a connection's edges, UNPAGED_LIST_ESTIMATE for other lists.
 * Scalars are free but a connection's totalCount (TOTAL_COUNT_COST). Fragments on several
 * types all count (an upper bound).
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Record<string, unknown> = {},
): OperationMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let aliases = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  countAliases(document, () => (aliases += 1));

  const variables: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) variables[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
  }
  Object.assign(variables, rawVariables);

  // Fragments are measured once each (per page size), so a document spreading fragments
  // into fragments costs linear time to measure, however large the result would be.
  const depthMemo = new Map<string, number>();
  const costMemo = new Map<string, number>();
  const visiting = new Set<string>();

  const depthOf = (selectionSet: SelectionSetNode, root: boolean): number => {
    let deepest = 0;
    for (const selection of selectionSet.selections) {
      let depth: number;
      if (selection.kind === Kind.FIELD) {
        if (root && INTROSPECTION_ROOTS.has(selection.name.value)) continue;
        depth = 1 + (selection.selectionSet ? depthOf(selection.selectionSet, false) : 0);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        depth = depthOf(selection.selectionSet, root);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue;
        const key = `${name}:${root}`;
        if (!depthMemo.has(key)) {
          visiting.add(name);
          depthMemo.set(key, depthOf(fragment.selectionSet, root));
          visiting.delete(name);
        }
        depth = depthMemo.get(key)!;
      }
      deepest = Math.max(deepest, depth);
    }
    return deepest;
  };

  let readsVariables = false;
  const pageSize = (field: FieldNode): number => {
    const argument = field.arguments?.find((a) => a.name.value === 'first');
    if (argument?.value.kind === Kind.VARIABLE) readsVariables = true;
    const value = argument ? valueFromASTUntyped(argument.value, variables) : undefined;
    if (value === undefined || value === null) return DEFAULT_PAGE_SIZE;
    // Anything but a whole number in range is refused by the connection itself, doing no work.
    if (typeof value !== 'number' || !Number.isFinite(value)) return MAX_PAGE_SIZE;
    return Math.min(Math.max(Math.trunc(value), 0), MAX_PAGE_SIZE);
  };

  /** `listSize`: the size of list fields directly in this selection set (a connection's edges). */
  const costOf = (selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined, root: boolean, listSize?: number): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === 'totalCount' && isObjectType(parent) && parent.name.endsWith('Connection')) total += TOTAL_COUNT_COST;
        if (name === '__typename' || (root && INTROSPECTION_ROOTS.has(name)) || !selection.selectionSet) continue;
        const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
        if (!definition) continue; // validation already refused unknown fields
        const paged = definition.args.some((a) => a.name === 'first');
        const itemCost = 1 + costOf(selection.selectionSet, getNamedType(definition.type), false, paged ? pageSize(selection) : undefined);
        const isList = isListType(getNullableType(definition.type));
        total += isList ? (listSize ?? UNPAGED_LIST_ESTIMATE) * itemCost : itemCost;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        total += costOf(selection.selectionSet, type, root, listSize);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue;
        const key = `${name}:${root}:${listSize ?? '-'}`;
        if (!costMemo.has(key)) {
          visiting.add(name);
          costMemo.set(key, costOf(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), root, listSize));
          visiting.delete(name);
        }
        total += costMemo.get(key)!;
      }
    }
    return total;
  };

  const rootType = schema.getRootType(operation.operation) ?? undefined;
  const measure = { depth: depthOf(operation.selectionSet, true), cost: costOf(operation.selectionSet, rootType, true), aliases };
  return readsVariables ? { ...measure, readsVariables } : measure;
}

// Apollo hands out the same parsed document for the same query text (its document
// store), so an operation's measure is kept when no variable went into it.
const measures = new WeakMap<OperationDefinitionNode, OperationMeasure>();

function measureOnce(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables?: Record<string, unknown>,
): OperationMeasure {
  const kept = measures.get(operation);
  if (kept) return kept;
  const measure = measureOperation(schema, document, operation, variables);
  if (!measure.readsVariables) measures.set(operation, measure);
  return measure;
}

function countAliases(document: DocumentNode, onAlias: () => void): void {
  const walk = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD && selection.alias) onAlias();
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) walk(selection.selectionSet);
    }
  };
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) walk(definition.selectionSet);
  }
}

export const limitError = (message: string, code: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code, http: { status: 400 }, ...extensions } });

/**
 * Rules on the whole document, added to graphql-js's own by both transports (Apollo's
 * validationRules, graphql-ws's validate): graphql-armor's directive count, through
 * fragments. Its depth, alias and cost rules stay off (see the top of this file: they
 * judge every operation of a document, its cost has no page sizes, and Apollo turns any
 * validation error's code into GRAPHQL_VALIDATION_FAILED).
 */
export function documentRules(limits: Pick<QueryLimits, 'maxDirectives'>): ValidationRule[] {
  const off = { enabled: false };
  const armor = new ApolloArmor({
    maxDirectives: {
      n: limits.maxDirectives,
      exposeLimits: true,
      propagateOnRejection: false,
      onReject: [
        (context) =>
          context?.reportError(
            new GraphQLError(`The operation uses more than ${limits.maxDirectives} directives`, {
              extensions: { maxDirectives: limits.maxDirectives },
            }),
          ),
      ],
    },
    maxDepth: off,
    maxAliases: off,
    costLimit: off,
    maxTokens: off,
    blockFieldSuggestion: off,
  });
  return armor.protect().validationRules;
}

/**
 * The operation that will run: the one operationName names, or the only one. Both
 * transports judge this one; judging another (the first) would let a harmless operation
 * vouch for a costly one in the same document.
 */
export function operationToRun(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  return getOperationAST(document, operationName) ?? undefined;
}

/** Every limit on the operation that will run, with its variables: the first broken as the error to answer with. */
export function checkOperation(
  limits: QueryLimits,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): GraphQLError | undefined {
  return checkQueryLimits(limits, schema, document, operation, variables) ?? checkStringValues(document, variables);
}

/** The first limit an operation breaks, as the error to answer with; undefined when within all. */
export function checkQueryLimits(
  limits: QueryLimits,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables?: Record<string, unknown>,
): GraphQLError | undefined {
  const { depth, cost, aliases } = measureOnce(schema, document, operation, variables);
  if (aliases > limits.maxAliases) {
    return limitError(`The document uses ${aliases} aliases; at most ${limits.maxAliases} are allowed`, 'TOO_MANY_ALIASES', {
      aliases,
      maxAliases: limits.maxAliases,
    });
  }
  if (depth > limits.maxDepth) {
    return limitError(`The operation is ${depth} fields deep; at most ${limits.maxDepth} are allowed`, 'QUERY_TOO_DEEP', {
      depth,
      maxDepth: limits.maxDepth,
    });
  }
  if (cost > limits.maxCost) {
    return limitError(
      `The operation may return up to ${cost} objects, over the budget of ${limits.maxCost}: ask for smaller pages (first) or fewer nested lists`,
      'QUERY_TOO_COSTLY',
      { cost, maxCost: limits.maxCost },
    );
  }
  return undefined;
}

/**
 * Strings the database cannot store as sent are refused up front as BAD_USER_INPUT, not
 * found out deep inside a resolver as internal errors: U+0000 (PostgreSQL text cannot
 * hold it) and unpaired UTF-16 surrogates (ill-formed Unicode; validators built on
 * encodeURI throw on them). Variables and the document's string literals are checked;
 * variables are walked without recursion, so deeply nested JSON cannot overflow the stack.
 */
export function checkStringValues(document: DocumentNode, variables: Record<string, unknown> | undefined): GraphQLError | undefined {
  const problem = (value: string): string | undefined =>
    value.includes('\u0000')
      ? 'Strings may not contain the NUL character (U+0000)'
      : LONE_SURROGATE.test(value)
        ? 'Strings must be well-formed Unicode: this one has an unpaired surrogate'
        : undefined;
  const refuse = (message: string, field?: string[]) => limitError(message, 'BAD_USER_INPUT', field ? { field } : {});
  // Each entry knows its parent, so a path is built only for the value refused (a
  // 10,000-invoice call would otherwise copy a path array per value).
  type Entry = { value: unknown; key?: string; parent?: Entry; depth: number };
  const pathOf = (entry: Entry): string[] => {
    const path: string[] = [];
    for (let at: Entry | undefined = entry; at?.key !== undefined; at = at.parent) if (at.depth <= 20) path.unshift(at.key);
    return path;
  };
  const stack: Entry[] = [{ value: variables ?? {}, depth: 0 }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const { value } = entry;
    if (typeof value === 'string') {
      const found = problem(value);
      if (found) return refuse(found, pathOf(entry));
    } else if (value !== null && typeof value === 'object') {
      for (const key in value) {
        const found = problem(key);
        if (found) return refuse(found, pathOf(entry));
        stack.push({ value: (value as Record<string, unknown>)[key], key, parent: entry, depth: entry.depth + 1 });
      }
    }
  }
  let literals = literalProblems.get(document);
  if (literals === undefined) {
    let found: string | null = null;
    visit(document, {
      StringValue(node) {
        found ??= problem(node.value) ?? null;
      },
    });
    literalProblems.set(document, (literals = found));
  }
  return literals ? refuse(literals) : undefined;
}

/** A document's string literals checked once (null: all well-formed). */
const literalProblems = new WeakMap<DocumentNode, string | null>();

/** In a `u` regex a lone surrogate is a code point of its own, category Cs; a pair is not. */
const LONE_SURROGATE = /\p{Cs}/u;
