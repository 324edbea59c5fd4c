// The published shape: package.json fields Capacitor and bundlers read, both module formats, and every name
// Capgo's package exports (types and run-time values) also exported here with the same enum values.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const ts = require('typescript');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

console.warn = () => {}; // loading both formats registers the plugin twice; Capacitor warns about it

/** Exported names of a declaration entry point, and the constant members of its exported enums. */
function exportsOf(entry) {
  const program = ts.createProgram([entry], { strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry));
  const names = new Set();
  const enums = {};
  for (const symbol of checker.getExportsOfModule(module)) {
    names.add(symbol.name);
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    if (target.flags & ts.SymbolFlags.Enum) {
      enums[symbol.name] = Object.fromEntries(
        target.declarations[0].members.map((m) => [m.name.getText(), checker.getConstantValue(m)]),
      );
    }
  }
  return { names, enums };
}

describe('package.json', () => {
  test('is the Capacitor 8 plugin @airlock/capacitor-updater with native sources in android/ and ios/', () => {
    assert.equal(pkg.name, '@airlock/capacitor-updater');
    assert.deepEqual(pkg.capacitor, { android: { src: 'android' }, ios: { src: 'ios' } });
    assert.equal(pkg.peerDependencies['@capacitor/core'], '^8.0.0');
    assert.equal(pkg.dependencies, undefined, 'no run-time dependencies besides the peer');
    assert.ok(pkg.devDependencies['@capgo/capacitor-updater'], 'Capgo is a dev dependency (type tests only)');
  });

  test('main, module, types and every exports target exist after the build', () => {
    const targets = [pkg.main, pkg.module, pkg.types];
    for (const entry of Object.values(pkg.exports)) {
      if (typeof entry === 'string') targets.push(entry);
      else targets.push(...Object.values(entry));
    }
    for (const t of targets) assert.ok(existsSync(join(root, t)), `${t} is missing`);
  });

  test('ESM and CommonJS expose the same names', async () => {
    const esm = await import('@airlock/capacitor-updater');
    const cjs = require('@airlock/capacitor-updater');
    const names = (m) => Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule').sort();
    assert.deepEqual(names(cjs), names(esm));
    assert.equal(typeof esm.CapacitorUpdater.notifyAppReady, 'function');
    assert.deepEqual(require('@airlock/capacitor-updater/methods').SUPPORTED_METHODS, esm.SUPPORTED_METHODS);
  });
});

describe("Capgo's exported names", () => {
  const capgo = exportsOf(join(root, 'node_modules/@capgo/capacitor-updater/dist/esm/index.d.ts'));
  const ours = exportsOf(join(root, 'dist/esm/index.d.ts'));

  test('every type and value Capgo exports is exported here too', () => {
    assert.ok(capgo.names.size > 50, 'read Capgo exports');
    assert.deepEqual([...capgo.names].filter((n) => !ours.names.has(n)), []);
  });

  test('enums keep Capgo member names and values, in the types and at run time', async () => {
    assert.deepEqual(Object.keys(ours.enums).sort(), Object.keys(capgo.enums).sort());
    const runtime = await import('@airlock/capacitor-updater');
    for (const [name, members] of Object.entries(capgo.enums)) {
      assert.deepEqual(ours.enums[name], members, name);
      for (const [member, value] of Object.entries(members)) assert.equal(runtime[name][member], value);
    }
  });
});
