/* global React, ReactDOM, GraphiQL */
// Herald's GraphiQL: everything it loads comes from this server. The API key goes in
// the Headers tab; GraphiQL keeps it in this browser's local storage only.
(function () {
  var defaultQuery = [
    '# Welcome to Herald. Put your API key in the Headers tab below:',
    '#   { "Authorization": "Bearer hrld_..." }',
    '# The first start printed one for the default tenant.',
    '',
    'query Channels {',
    '  viewer { id name }',
    '  channels { channel gateways { id name provider isDefault enabled } }',
    '}',
    '',
  ].join('\n');
  var fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).toString() });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: JSON.stringify({ Authorization: 'Bearer ' }, null, 2),
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: true,
    }),
  );
})();
