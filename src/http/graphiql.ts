// GraphiQL from the project's own bundle: React 18 UMD and graphiql 3's prebuilt files,
// read from node_modules once at start. The CSP forbids loading anything from another host.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
// The page's own files live beside the source; the build copies them next to the JS.
const ownDir = fs.existsSync(path.join(here, 'graphiql')) ? path.join(here, 'graphiql') : path.resolve(here, '../../src/http/graphiql');

const packageFile = (pkg: string, file: string) => path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);

const ASSETS: Record<string, { file: string; type: string }> = {
  'react.production.min.js': { file: packageFile('react', 'umd/react.production.min.js'), type: 'text/javascript' },
  'react-dom.production.min.js': { file: packageFile('react-dom', 'umd/react-dom.production.min.js'), type: 'text/javascript' },
  'graphiql.min.js': { file: packageFile('graphiql', 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.min.css': { file: packageFile('graphiql', 'graphiql.min.css'), type: 'text/css' },
  'herald.js': { file: path.join(ownDir, 'herald.js'), type: 'text/javascript' },
  'herald.css': { file: path.join(ownDir, 'herald.css'), type: 'text/css' },
};

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function registerGraphiql(app: FastifyInstance): void {
  const page = fs.readFileSync(path.join(ownDir, 'index.html'));
  const assets = new Map(Object.entries(ASSETS).map(([name, a]) => [name, { body: fs.readFileSync(a.file), type: a.type }]));

  app.get('/graphiql', (_request, reply) => {
    void reply.header('content-security-policy', CSP).type('text/html; charset=utf-8').send(page);
  });
  app.get<{ Params: { name: string } }>('/graphiql/assets/:name', (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) return reply.code(404).send({ error: 'not found' });
    return reply.header('cache-control', 'public, max-age=3600').type(asset.type).send(asset.body);
  });
}
