// Herald's layers run one way: resolver → service → (queries | dispatch) → provider.
// `npm run lint:deps` checks these rules on src/ (CI runs it).
const TESTS = '\\.test\\.ts$';
// Everything that is not the GraphQL layer (src/graphql/ and each module's resolver, types and views).
const BELOW_GRAPHQL =
  '^src/(domain|lib|templates|db|dispatch|providers|realtime)/|^src/modules/[^/]+/(?![^/]+\\.(resolver|types|views)\\.ts$)[^/]+\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules are one module in disguise: no layer can be read on its own.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'providers-are-the-bottom',
      severity: 'error',
      comment: 'Adapters talk to vendors only: the types they need (channels, credentials) live in src/providers/.',
      from: { path: '^src/providers/', pathNot: TESTS },
      to: { path: '^src/(modules|db|graphql|http|dispatch|realtime)/|^src/(services|herald|bootstrap|config|main)\\.ts$' },
    },
    {
      name: 'vendor-sdks-only-in-providers',
      severity: 'error',
      comment: 'Vendor SDKs (twilio, SendGrid, X) are used only by their adapters.',
      from: { path: '^src/', pathNot: '^src/providers/|\\.test\\.ts$' },
      to: { path: '^node_modules/(twilio|@sendgrid|twitter-api-v2)/' },
    },
    {
      name: 'no-graphql-below-the-resolvers',
      severity: 'error',
      comment:
        'Services hold the rules and know no transport: no GraphQL, no HTTP, no views. Refusals, enums and ' +
        'paging come from src/domain/; the GraphQL layer (src/graphql/, *.resolver.ts, *.types.ts, *.views.ts) maps them.',
      from: { path: BELOW_GRAPHQL, pathNot: TESTS },
      to: { path: '^src/(graphql|http)/|\\.(resolver|views)\\.ts$|^node_modules/(type-graphql|graphql|@apollo)/' },
    },
    {
      name: 'input-types-as-types-only',
      severity: 'error',
      comment: 'A service may name the input shape a mutation hands it, as a type; the class and its decorators stay GraphQL-side.',
      from: { path: BELOW_GRAPHQL, pathNot: TESTS },
      to: { path: '\\.types\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'domain-is-shared',
      severity: 'error',
      comment: 'src/domain/ (enums, refusals, paging, who is calling) is used by every layer, so it uses none of them.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/(domain|lib)/|^src/providers/channels\\.ts$' },
    },
    {
      name: 'resolvers-call-services',
      severity: 'error',
      comment: "A resolver authorizes, calls a service and maps the answer; reading the database is the service's job.",
      from: { path: '\\.resolver\\.ts$', pathNot: TESTS },
      to: { path: '\\.queries\\.ts$' },
    },
    {
      name: 'dispatch-uses-no-service',
      severity: 'error',
      comment:
        'The worker sits below the services: it uses queries, providers and the ports declared in src/dispatch/, ' +
        'which the composition root (src/herald.ts) wires.',
      from: { path: '^src/dispatch/', pathNot: TESTS },
      to: { path: '\\.(service|resolver|types|views)\\.ts$|^src/(graphql|http)/' },
    },
    {
      name: 'db-is-below-the-modules',
      severity: 'error',
      comment: 'The schema and the database handle know nothing of what is built on them.',
      from: { path: '^src/db/', pathNot: TESTS },
      to: { path: '^src/(modules|graphql|http|dispatch|realtime)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/http/graphiql/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
