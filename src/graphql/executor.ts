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
import type { Context } from './context.js';

type Gateway = ApolloServerOptionsWithGateway<Context>['gateway'];

/**
 * A document is compiled on its second execution: a one-off (an explorer's ad-hoc query)
 * runs on graphql-js and costs no compilation (1–10 ms per document).
 */
export const COMPILE_ON_EXECUTION = 2;

/** Per operation of a document: executions so far, then its compiled form (or null: not compilable). */
type Plan = { runs: number } | { compiled: CompiledQuery | null };

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
  options: { compileOn?: number; onCompile?: (outcome: CompileOutcome, operationName: string | null) => void } = {},
): Gateway {
  const compileOn = options.compileOn ?? COMPILE_ON_EXECUTION;
  // graphql-jit takes resolveType's answer as it comes: a promise there is no type at all.
  for (const type of Object.values(schema.getTypeMap())) {
    if (isAbstractType(type) && type.resolveType?.constructor.name === 'AsyncFunction') {
      throw new Error(`${type.name}.resolveType is async: the compiled executor needs the type name synchronously`);
    }
  }
  // Keyed by Apollo's parsed document, which its document store hands out again for the
  // same query text: a plan lives exactly as long as Apollo keeps the document.
  const plans = new WeakMap<DocumentNode, Map<string | null, Plan>>();

  const compiledFor = (document: DocumentNode, operationName: string | null): CompiledQuery | null => {
    let byOperation = plans.get(document);
    if (!byOperation) plans.set(document, (byOperation = new Map()));
    const plan = byOperation.get(operationName) ?? { runs: 0 };
    if ('compiled' in plan) return plan.compiled;
    if (plan.runs + 1 < compileOn) {
      byOperation.set(operationName, { runs: plan.runs + 1 });
      return null;
    }
    const refused = compilable(schema, document) !== null;
    const result = refused ? null : compileQuery(schema, document, operationName ?? undefined);
    const query = result && isCompiledQuery(result) ? result : null;
    options.onCompile?.(refused ? 'refused' : query ? 'compiled' : 'failed', operationName);
    byOperation.set(operationName, { compiled: query });
    return query;
  };

  const executor: Executor = async ({ document, operationName, context, request }) => {
    const variables = request.variables ?? {};
    const query = compiledFor(document, operationName);
    if (query) {
      const result = (await query.query(undefined, context, variables)) as ExecutionResult;
      // No data at all: the compiled parser refused the variables before anything ran.
      // graphql-js judges them again and says why, in the words Apollo recognises as bad
      // user input (HTTP 400).
      if (result.data !== undefined) return result;
    }
    return execute({ schema, document, contextValue: context, variableValues: variables, operationName });
  };

  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => {};
    },
    load: async () => ({ executor }),
    stop: async () => {},
  };
}
