// Apollo's execution step on graphql-jit for the operations clients send again and again.
// Apollo still parses, validates (both cached per query text) and runs every plugin; only
// the execution of a validated document changes hands. graphql-jit turns a document into
// JavaScript once: its variable coercion is a plain function of the input types (10,000
// billing invoices: ~80–110 ms in graphql-js's generic walk, 2–25 ms compiled) and its
// field walk has no per-field lookups. Apollo's way to plug in an executor is its gateway
// interface; the schema stays the one type-graphql built.
import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import { type DocumentNode, type ExecutionResult, type GraphQLSchema, execute, isAbstractType, printSchema } from 'graphql';
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

export function compiledExecution(
  schema: GraphQLSchema,
  options: { compileOn?: number; onCompile?: (outcome: 'compiled' | 'not_compilable') => void } = {},
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
    const result = compileQuery(schema, document, operationName ?? undefined);
    const query = isCompiledQuery(result) ? result : null;
    options.onCompile?.(query ? 'compiled' : 'not_compilable');
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
