// Importing the package installs the route memory when the page asked for it, as importing Capgo's does.

import assert from 'node:assert/strict';
import { test } from 'node:test';

const session = new Map();
let pushed = 0;
globalThis.location = { pathname: '/start', search: '', hash: '' };
globalThis.history = {
  pushState(_d, _t, url) {
    pushed++;
    globalThis.location.pathname = String(url);
  },
  replaceState() {},
};
globalThis.sessionStorage = { getItem: (k) => session.get(k) ?? null, setItem: (k, v) => session.set(k, v) };
globalThis.__capgoKeepUrlPathAfterReload = true;

await import('../../dist/esm/index.js');

test('importing the package starts mirroring routes into sessionStorage', () => {
  assert.deepEqual(JSON.parse(session.get('__capgo_history_stack__')), ['/start']);
  globalThis.history.pushState(null, '', '/next');
  assert.equal(pushed, 1);
  assert.deepEqual(JSON.parse(session.get('__capgo_history_stack__')), ['/start', '/next']);
});
