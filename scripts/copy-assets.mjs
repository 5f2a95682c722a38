// After tsc: the GraphiQL page's own files next to the compiled JS, and the stamp
// `npm start` compares with the sources.
import fs from 'node:fs';
fs.cpSync('src/http/graphiql', 'dist/http/graphiql', { recursive: true });
fs.writeFileSync('dist/.build-stamp', new Date().toISOString());
