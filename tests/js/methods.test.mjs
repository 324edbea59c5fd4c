// The parity lists of src/methods.ts agree with the interface in src/definitions.ts, with Capgo's interface and
// with the documentation. Names are read from the TypeScript sources with the compiler API, not from the lists
// themselves, so a method added to the interface but forgotten in a list (or the reverse) fails here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  BRIDGE_METHODS,
  SUPPORTED_EVENTS,
  SUPPORTED_METHODS,
  UNIMPLEMENTED_EVENTS,
  UNIMPLEMENTED_METHODS,
} from '../../dist/esm/methods.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ts = createRequire(import.meta.url)('typescript');

/** Method names and `addListener` event names of interface `name` in the TypeScript file `path`. */
function readInterface(path, name) {
  const text = readFileSync(join(root, path), 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const decl = file.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === name);
  assert.ok(decl, `${path} declares interface ${name}`);
  const methods = [];
  const events = [];
  for (const member of decl.members) {
    if (!ts.isMethodSignature(member)) {
      assert.fail(`${name}.${member.name?.getText(file)} must be a method signature`);
    }
    const methodName = member.name.getText(file);
    if (!methods.includes(methodName)) methods.push(methodName);
    if (methodName === 'addListener') {
      const type = member.parameters[0]?.type;
      assert.ok(type && ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal), 'event names are literals');
      events.push(type.literal.text);
    }
  }
  return { methods, events };
}

const ours = readInterface('src/definitions.ts', 'CapacitorUpdaterPlugin');
const capgo = readInterface(
  'node_modules/@capgo/capacitor-updater/dist/esm/definitions.d.ts',
  'CapacitorUpdaterPlugin',
);
const lists = { SUPPORTED_METHODS, UNIMPLEMENTED_METHODS, BRIDGE_METHODS };

/** The DESIGN §8 parity table (JS column) plus Airlock's attributes: what the shells must implement. */
const PARITY_TABLE = [
  'notifyAppReady', 'download', 'next', 'set', 'reload', 'reset', 'current', 'list', 'delete', 'getNextBundle',
  'getFailedUpdate', 'setMultiDelay', 'cancelDelay', 'getLatest', 'setChannel', 'unsetChannel', 'getChannel',
  'listChannels', 'setCustomId', 'getDeviceId', 'getBuiltinVersion', 'getPluginVersion', 'isAutoUpdateEnabled',
  'triggerUpdateCheck', 'setAttributes', 'getAttributes',
];
const PARITY_EVENTS = [
  'download', 'downloadComplete', 'downloadFailed', 'updateAvailable', 'noNeedUpdate', 'breakingAvailable',
  'majorAvailable', 'updateFailed', 'set', 'setNext', 'appReloaded', 'appReady', 'channelPrivate',
  'updateCheckResult',
];

describe('parity lists (src/methods.ts)', () => {
  test('every method of CapacitorUpdaterPlugin is in exactly one list', () => {
    for (const method of ours.methods) {
      const homes = Object.entries(lists).filter(([, l]) => l.includes(method)).map(([n]) => n);
      assert.equal(homes.length, 1, `${method} is listed in ${homes.length ? homes.join(' and ') : 'no list'}`);
    }
  });

  test('every listed method exists in CapacitorUpdaterPlugin, and no list repeats a name', () => {
    for (const [name, list] of Object.entries(lists)) {
      assert.equal(new Set(list).size, list.length, `${name} has duplicates`);
      for (const method of list) assert.ok(ours.methods.includes(method), `${name}: ${method} is not in the interface`);
    }
  });

  test('the supported methods are exactly the DESIGN §8 parity table', () => {
    assert.deepEqual([...SUPPORTED_METHODS].sort(), [...PARITY_TABLE].sort());
  });

  test('every addListener event is in exactly one event list, and the supported ones are the parity events', () => {
    assert.equal(new Set(ours.events).size, ours.events.length, 'addListener overloads repeat an event');
    assert.deepEqual([...ours.events].sort(), [...SUPPORTED_EVENTS, ...UNIMPLEMENTED_EVENTS].sort());
    assert.deepEqual([...SUPPORTED_EVENTS].sort(), [...PARITY_EVENTS].sort());
  });

  test("every method and event of Capgo's interface exists in ours", () => {
    assert.deepEqual(capgo.methods.filter((m) => !ours.methods.includes(m)), []);
    assert.deepEqual(capgo.events.filter((e) => !ours.events.includes(e)), []);
  });

  test("ours adds nothing to Capgo's interface but Airlock's attributes", () => {
    assert.deepEqual(ours.methods.filter((m) => !capgo.methods.includes(m)).sort(), ['getAttributes', 'setAttributes']);
    assert.deepEqual(ours.events.filter((e) => !capgo.events.includes(e)), []);
  });

  test('each unimplemented method is documented as such in definitions.ts', () => {
    const text = readFileSync(join(root, 'src', 'definitions.ts'), 'utf8');
    for (const method of UNIMPLEMENTED_METHODS) {
      const re = new RegExp(`Not implemented by Airlock[^\\n]*\\n\\s*${method}\\(`);
      assert.match(text, re, `${method} lacks its "Not implemented by Airlock" comment`);
    }
  });

  test('docs/js-api.md lists every unimplemented method and every supported one', () => {
    const doc = readFileSync(join(root, 'docs', 'js-api.md'), 'utf8');
    for (const method of [...UNIMPLEMENTED_METHODS, ...SUPPORTED_METHODS]) {
      assert.ok(doc.includes(`\`${method}(`), `docs/js-api.md does not mention ${method}()`);
    }
  });

  test('src/methods.ts keeps one quoted name per line, as the Kotlin and Swift parity tests read it', () => {
    const text = readFileSync(join(root, 'src', 'methods.ts'), 'utf8');
    const block = (name) => {
      const m = text.match(new RegExp(`export const ${name} = \\[\\n([\\s\\S]*?)\\n\\] as const;`));
      assert.ok(m, `${name} is written as a multi-line array`);
      return m[1].split('\n').map((l) => l.trim().match(/^'([A-Za-z]+)',$/)?.[1]);
    };
    assert.deepEqual(block('SUPPORTED_METHODS'), [...SUPPORTED_METHODS]);
    assert.deepEqual(block('UNIMPLEMENTED_METHODS'), [...UNIMPLEMENTED_METHODS]);
    assert.deepEqual(block('SUPPORTED_EVENTS'), [...SUPPORTED_EVENTS]);
  });
});
