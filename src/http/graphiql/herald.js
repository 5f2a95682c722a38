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
  // GraphiQL loads the schema as soon as it opens, with the headers as they stand: the
  // "Bearer " placeholder (no key typed yet) is left out, not sent and refused with 401.
  var fetchWithoutEmptyBearer = function (input, init) {
    var headers = new Headers((init && init.headers) || {});
    if (/^Bearer\s*$/i.test(headers.get('authorization') || 'x')) headers.delete('authorization');
    return window.fetch(input, Object.assign({}, init, { headers: headers }));
  };
  var fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).toString(), fetch: fetchWithoutEmptyBearer });
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
