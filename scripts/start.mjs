// `npm start`, `npm run migrate` (`--role migrate`) and `npm run rotate-secrets`
// (`--role rotate-secrets`): build when the compiled JS is missing or older than the
// sources, then run it with the arguments given.
// Production runs compiled JavaScript, never a transpiler.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');

function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
const sources = Math.max(newestSource(path.join(root, 'src')), fs.statSync(path.join(root, 'package.json')).mtimeMs);
if (built < sources) {
  console.error('herald: building (tsc)…');
  const result = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  fs.cpSync(path.join(root, 'src/http/graphiql'), path.join(root, 'dist/http/graphiql'), { recursive: true });
  fs.writeFileSync(stamp, new Date().toISOString());
}
await import(path.join(root, 'dist', 'main.js'));
