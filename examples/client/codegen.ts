// Typed documents from the schema Herald commits (never a live endpoint), for the
// operations written with graphql(`…`) in src/.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        // Types for what the operations use, not the whole schema: a schema change the
        // example does not touch leaves the generated files as they are.
        onlyOperationTypes: true,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string' },
      },
    },
  },
  // Node's ESM resolution needs the .js in the generated files' relative imports.
  emitLegacyCommonJSImports: false,
  silent: true,
};

export default config;
