// When an operation gets compiled, and how many compiled plans are kept. The answers
// themselves are compared over HTTP in test/compiled-execution.test.ts.
import 'reflect-metadata';
import { type DocumentNode, parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CompileOutcome, compiledExecution } from './executor.js';
import { buildHeraldSchema } from './schema.js';

type Gateway = ReturnType<typeof compiledExecution>;
type Execute = (document: DocumentNode, operationName?: string) => Promise<unknown>;

let schema: Awaited<ReturnType<typeof buildHeraldSchema>>;
beforeAll(async () => {
  schema = await buildHeraldSchema();
});

/** An executor over the real schema, and the compilations it reports, in order. */
async function executorOf(options: { compileOn?: number; maxCompiled?: number } = {}) {
  const compilations: [CompileOutcome, string | null][] = [];
  const gateway: Gateway = compiledExecution(schema, { ...options, onCompile: (outcome, name) => compilations.push([outcome, name]) });
  const { executor } = await gateway.load({ apollo: {} as never });
  const execute: Execute = (document, operationName) =>
    // As Apollo hands it over: the context's operationName is the resolved operation's (null when none matched).
    executor!({ document, operationName: null, request: { operationName, variables: {} }, context: {} } as never);
  return { execute, compilations };
}

describe('compiledExecution', () => {
  it('compiles an operation on its second execution, once, and answers the same before and after', async () => {
    const { execute, compilations } = await executorOf();
    const document = parse('query Probe { __typename }');
    const answers = [await execute(document, 'Probe')];
    expect(compilations).toEqual([]);
    for (let i = 0; i < 3; i++) answers.push(await execute(document, 'Probe'));
    expect(compilations).toEqual([['compiled', 'Probe']]);
    for (const answer of answers) expect(answer).toEqual({ data: { __typename: 'Query' } });
  });

  it('counts each operation of a document on its own', async () => {
    const { execute, compilations } = await executorOf();
    const document = parse('query A { __typename } query B { __typename }');
    await execute(document, 'A');
    await execute(document, 'B');
    expect(compilations).toEqual([]);
    await execute(document, 'B');
    await execute(document, 'A');
    expect(compilations).toEqual([
      ['compiled', 'B'],
      ['compiled', 'A'],
    ]);
  });

  it('executes the operation the client named, and answers an unknown name with graphql-js’s error every time', async () => {
    const { execute, compilations } = await executorOf();
    const document = parse('query A { a: __typename } query B { b: __typename }');
    for (let i = 0; i < 3; i++) {
      expect(await execute(document, 'B')).toEqual({ data: { b: 'Query' } });
      expect(await execute(document, 'Nope')).toMatchObject({ errors: [{ message: 'Unknown operation named "Nope".' }] });
    }
    expect(compilations).toEqual([
      ['compiled', 'B'],
      ['failed', 'Nope'],
    ]);
  });

  it('keeps at most maxCompiled documents compiled, dropping the least recently used, which compiles again on its next second execution', async () => {
    const { execute, compilations } = await executorOf({ maxCompiled: 2 });
    const [d1, d2, d3] = ['query One { __typename }', 'query Two { __typename }', 'query Three { __typename }'].map((t) => parse(t));
    const twice = async (d: DocumentNode) => {
      await execute(d);
      await execute(d);
    };
    await twice(d1);
    await twice(d2);
    await execute(d1); // d1 used last: d2 is now the oldest
    await twice(d3); // evicts d2
    expect(compilations.length).toBe(3);
    await execute(d1); // still compiled
    await execute(d3); // still compiled
    expect(compilations.length).toBe(3);
    await execute(d2); // evicted: counts again from one
    expect(compilations.length).toBe(3);
    await execute(d2);
    expect(compilations.length).toBe(4);
  });

  it('keeps a document with graphql-jit’s marker in a string literal on graphql-js, reporting it once', async () => {
    const { execute, compilations } = await executorOf();
    const document = parse('{ __typename a: __typename @include(if: true) b: __type(name: "__MAGIC_NAN__x") { name } }');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await execute(document));
    expect(compilations).toEqual([['refused', null]]);
    for (const answer of answers) expect(answer).toEqual({ data: { __typename: 'Query', a: 'Query', b: null } });
  });
});
