// Tests that start Herald as a process run the compiled JS, as `npm start` does:
// build once here when the sources are newer than the build. Type errors do not stop
// the tests (tsc still emits; CI type-checks in its own step), a missing build does.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const newest = (dir: string): number =>
  fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const full = path.join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
  }, 0);

export default function setup(): void {
  const stamp = 'dist/.build-stamp';
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= newest('src')) return;
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (tsc.status !== 0) console.warn('global-setup: tsc reported errors; the process tests run the JavaScript it emitted');
  if (!fs.existsSync('dist/main.js')) throw new Error('building dist/ for the process tests failed');
  spawnSync(process.execPath, ['scripts/copy-assets.mjs'], { stdio: 'inherit' });
}
