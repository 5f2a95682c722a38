// Tests that start Herald as a process run the compiled JS, as `npm start` does:
// build once here when the sources are newer than the build.
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  const result = spawnSync(process.execPath, ['-e', checkAndBuild], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('building dist/ for the process tests failed');
}

const checkAndBuild = `
const fs = require('node:fs'), path = require('node:path'), { spawnSync } = require('node:child_process');
const newest = (dir) => fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs), 0);
const stamp = 'dist/.build-stamp';
if (!fs.existsSync(stamp) || fs.statSync(stamp).mtimeMs < newest('src')) {
  const r = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
`;
