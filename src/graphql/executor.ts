// Apollo's execution step on graphql-jit for the operations clients send again and again.
// Apollo still parses, validates (both cached per query text) and runs every plugin; only
// the execution of a validated document changes hands. graphql-jit turns a document into
// JavaScript once: its variable coercion is a plain function of the input types (10,000
// billing invoices: ~80–110 ms in graphql-js's generic walk, 2–25 ms compiled) and its
// field walk has no per-field lookups. Apollo's way to plug in an executor is its gateway
// interface; the schema stays the one type-graphql built.
import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  BREAK,
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  execute,
  getNamedType,
  isAbstractType,
  isScalarType,
  isSpecifiedScalarType,
  printSchema,
  typeFromAST,
  visit,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { BoundedMap } from '../lib/bounded-cache.js';
import type { Context } from './context.js';

type Gateway = ApolloServerOptionsWithGateway<Context>['gateway'];

/**
 * A document is compiled on its second execution: a one-off (an explorer's ad-hoc query)
 * runs on graphql-js and costs no compilation (1–10 ms per document).
 */
export const COMPILE_ON_EXECUTION = 2;

/**
 * Documents whose compiled plans are kept (least recently used dropped first): a compiled
 * operation takes ~20–70 KiB of heap (measured: sendSms 21 KiB, a 450-byte query with
 * nested lists 70 KiB), ~150× its text, so a client sending many distinct documents twice
 * must not fill memory with them. An application has tens of operations.
 */
export const MAX_COMPILED_DOCUMENTS = 500;

type Executor = NonNullable<Awaited<ReturnType<Gateway['load']>>['executor']>;

/** compiled: runs compiled from now on; refused: kept on graphql-js by compilable(); failed: graphql-jit could not compile it. */
export type CompileOutcome = 'compiled' | 'refused' | 'failed';

/**
 * Why a document must stay on graphql-js, or null. graphql-jit 0.8.9 writes an argument's
 * literal value into the generated source with JSON.stringify and then rewrites in-band
 * markers (`"__MAGIC_DATE__…<text>"` becomes `new Date(<text>)`), so a string literal
 * carrying its marker would be code run on this server. It also writes a variable's
 * default with plain JSON.stringify, which turns a custom scalar's value (a DateTime's
 * Date) into a string. Neither ever reaches the compiler.
 */
export function compilable(schema: GraphQLSchema, document: DocumentNode): string | null {
  let reason: string | null = null;
  visit(document, {
    StringValue(node) {
      if (node.value.includes('__MAGIC_')) {
        reason = 'a string literal carries a graphql-jit marker';
        return BREAK;
      }
    },
    VariableDefinition(node) {
      if (!node.defaultValue) return;
      const type = typeFromAST(schema, node.type);
      const named = type && getNamedType(type);
      if (named && isScalarType(named) && !isSpecifiedScalarType(named)) {
        reason = `$${node.variable.name.value} has a default of the custom scalar ${named.name}`;
        return BREAK;
      }
    },
  });
  return reason;
}

export function compiledExecution(
  schema: GraphQLSchema,
  options: {
    compileOn?: number;
    maxCompiled?: number;
    onCompile?: (outcome: CompileOutcome, operationName: string | null, reason?: string) => void;
  } = {},
): Gateway {
  const compileOn = options.compileOn ?? COMPILE_ON_EXECUTION;
  const maxCompiled = options.maxCompiled ?? MAX_COMPILED_DOCUMENTS;
  // graphql-jit takes resolveType's answer as it comes: a promise there is no type at all.
  for (const type of Object.values(schema.getTypeMap())) {
    if (isAbstractType(type) && type.resolveType?.constructor.name === 'AsyncFunction') {
      throw new Error(`${type.name}.resolveType is async: the compiled executor needs the type name synchronously`);
    }
  }
  // Both keyed by Apollo's parsed document, which its document store hands out again for
  // the same query text. Executions before compiling live as long as Apollo keeps the
  // document; compiled plans (or null: kept on graphql-js) in least-recently-used order.
  const runs = new WeakMap<DocumentNode, Map<string | null, number>>();
  const compiled = new BoundedMap<DocumentNode, Map<string | null, CompiledQuery | null>>(maxCompiled);

  const compiledFor = (document: DocumentNode, operationName: string | null): CompiledQuery | null => {
    let plans = compiled.get(document);
    if (plans?.has(operationName)) return plans.get(operationName)!;
    let counts = runs.get(document);
    if (!counts) runs.set(document, (counts = new Map()));
    const executions = (counts.get(operationName) ?? 0) + 1;
    if (executions < compileOn) {
      counts.set(operationName, executions);
      return null;
    }
    counts.delete(operationName);
    const refusal = compilable(schema, document);
    const result = refusal === null ? compileQuery(schema, document, operationName ?? undefined) : null;
    const query = result && isCompiledQuery(result) ? result : null;
    if (refusal !== null) options.onCompile?.('refused', operationName, refusal);
    else if (query) options.onCompile?.('compiled', operationName);
    else options.onCompile?.('failed', operationName, result && 'errors' in result ? result.errors?.map((e) => e.message).join('; ') : undefined);
    // An evicted document starts counting again: compiled anew on its next second execution.
    compiled.set(document, (plans ??= new Map()).set(operationName, query));
    return query;
  };

  const executor: Executor = async ({ document, context, request }) => {
    const variables = request.variables ?? {};
    // The name the client asked for: the context's operationName is the resolved
    // operation's, null when none matched (graphql-js then says which name is unknown).
    const operationName = request.operationName ?? null;
    const query = compiledFor(document, operationName);
    if (query) {
      const result = (await query.query(undefined, context, variables)) as ExecutionResult;
      // No data at all: the compiled parser refused the variables before anything ran.
      // graphql-js judges them again and says why, in the words Apollo recognises as bad
      // user input (HTTP 400).
      if (result.data !== undefined) return withExtensions(result);
    }
    return execute({ schema, document, contextValue: context, variableValues: variables, operationName });
  };

  // graphql-jit leaves `extensions` undefined on the errors it builds around a resolver's
  // own error, and Apollo reads `extensions.code` of every error: such an error was
  // answered as a bare "Internal server error" (no id, nothing logged, no 503 for a
  // database outage) instead of going through Herald's formatError like graphql-js's.
  const withExtensions = (result: ExecutionResult): ExecutionResult =>
    result.errors?.some((e) => !e.extensions)
      ? {
          ...result,
          errors: result.errors.map((e) =>
            e.extensions ? e : new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, originalError: e.originalError ?? e, extensions: {} }),
          ),
        }
      : result;

  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => {};
    },
    load: async () => ({ executor }),
    stop: async () => {},
  };
}
