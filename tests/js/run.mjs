// `npm test`: the JavaScript package's checks, in order, each counted once:
//   1. the sources compile under `strict` (tsc --noEmit -p tsconfig.json);
//   2. app code written for @capgo/capacitor-updater compiles against Capgo's own types;
//   3. the same file, unchanged, compiles against Airlock's published types (plus Airlock's additions);
//   4. the assignability proof (Airlock's plugin where Capgo's is expected) compiles;
//   then every `node:test` test in tests/js/*.test.mjs (each test counted).
// Needs `npm run build` first (the type checks and runtime tests use dist/, what users get).
// Last line: `N passed, N failed`; exit code 1 when anything failed.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

let passed = 0;
let failed = 0;

function check(name, args) {
  const r = spawnSync(process.execPath, [tsc, ...args], { cwd: root, encoding: 'utf8' });
  if (r.status === 0) {
    passed++;
    console.log(`✔ ${name}`);
  } else {
    failed++;
    console.log(`✖ ${name}\n${r.stdout}${r.stderr}`);
  }
}

if (!existsSync(join(root, 'dist', 'esm', 'index.js')) || !existsSync(join(root, 'dist', 'cjs', 'index.js'))) {
  console.log('✖ dist/ is missing: run `npm run build` before `npm test`');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

check('sources compile under strict (tsc --noEmit -p tsconfig.json)', ['--noEmit', '-p', 'tsconfig.json']);
check("Capgo app code compiles against Capgo's types", ['-p', 'tests/js/compat/tsconfig.capgo.json']);
check('the same Capgo app code compiles against Airlock by changing the import', [
  '-p',
  'tests/js/compat/tsconfig.airlock.json',
]);
check("Airlock's plugin is assignable where Capgo's is used", ['-p', 'tests/js/compat/tsconfig.assign.json']);

const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.mjs'))
  .sort()
  .map((f) => join(here, f));
console.log(`node:test: ${files.map((f) => relative(root, f)).join(', ')}`);

const stream = run({ files, concurrency: 1 });
stream.on('test:pass', (d) => {
  if (d.details?.type !== 'suite') passed++;
});
stream.on('test:fail', (d) => {
  if (d.details?.type !== 'suite') failed++;
});
const report = stream.compose(new spec());
report.pipe(process.stdout);
await finished(report);

console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
