// Writes schema.graphql from the code (`npm run schema`); CI fails when it is stale.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHeraldSchema } from './schema.js';

const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schema.graphql');
await buildHeraldSchema({ emitSchemaFile: target });
console.log(`wrote ${target}`);
