// Route memory for keepUrlPathAfterReload (src/history.ts), on a fake window: off unless asked for, mirrors
// pushState/replaceState/back into sessionStorage, bounded, installed once, and never breaks navigation.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  HISTORY_STACK_KEY,
  HISTORY_STACK_LIMIT,
  KEEP_URL_PATH_FLAG_KEY,
  installHistoryStack,
  readHistoryStack,
} from '../../dist/esm/history.js';

/** A minimal window: a history with a real entry list, a location, and the two storages. */
function fakeWindow({ flag = false, localFlag = null, storageThrows = false } = {}) {
  const session = new Map();
  const listeners = [];
  const entries = ['/'];
  let index = 0;
  const location = { pathname: '/', search: '', hash: '' };
  const go = (url) => {
    const u = new URL(url, 'https://app.invalid');
    Object.assign(location, { pathname: u.pathname, search: u.search, hash: u.hash });
  };
  const win = {
    location,
    history: {
      pushState(_d, _t, url) {
        entries.splice(index + 1, Infinity, String(url));
        index++;
        go(url);
      },
      replaceState(_d, _t, url) {
        entries[index] = String(url);
        go(url);
      },
      back() {
        index--;
        go(entries[index]);
        listeners.forEach((l) => l());
      },
    },
    sessionStorage: {
      getItem: (k) => session.get(k) ?? null,
      setItem: (k, v) => {
        if (storageThrows) throw new Error('QuotaExceededError');
        session.set(k, v);
      },
    },
    localStorage: { getItem: (k) => (k === KEEP_URL_PATH_FLAG_KEY ? localFlag : null) },
    addEventListener: (type, l) => type === 'popstate' && listeners.push(l),
    session,
  };
  if (flag) win.__capgoKeepUrlPathAfterReload = true;
  return win;
}

describe('keepUrlPathAfterReload route memory', () => {
  test('is off by default: nothing is patched and nothing is written', () => {
    const win = fakeWindow();
    const push = win.history.pushState;
    assert.equal(installHistoryStack(win), false);
    assert.equal(win.history.pushState, push);
    win.history.pushState(null, '', '/a');
    assert.equal(win.session.size, 0);
  });

  test('turns on with localStorage "1" and mirrors push, replace and back', () => {
    const win = fakeWindow({ localFlag: '1' });
    assert.equal(installHistoryStack(win), true);
    assert.deepEqual(readHistoryStack(win), ['/']);
    win.history.pushState(null, '', '/orders?page=2');
    win.history.pushState(null, '', '/orders/17#notes');
    assert.deepEqual(readHistoryStack(win), ['/', '/orders?page=2', '/orders/17#notes']);
    win.history.replaceState(null, '', '/orders/18');
    assert.deepEqual(readHistoryStack(win), ['/', '/orders?page=2', '/orders/18']);
    win.history.back();
    assert.deepEqual(readHistoryStack(win), ['/', '/orders?page=2']);
    assert.equal(win.location.pathname, '/orders');
    assert.deepEqual(JSON.parse(win.session.get(HISTORY_STACK_KEY)), ['/', '/orders?page=2']);
  });

  test('turns on with the window flag the shell sets, and only "1" counts in localStorage', () => {
    assert.equal(installHistoryStack(fakeWindow({ flag: true })), true);
    assert.equal(installHistoryStack(fakeWindow({ localFlag: 'true' })), false);
  });

  test(`keeps at most ${HISTORY_STACK_LIMIT} entries, dropping the oldest`, () => {
    const win = fakeWindow({ flag: true });
    installHistoryStack(win);
    for (let i = 0; i < HISTORY_STACK_LIMIT + 20; i++) win.history.pushState(null, '', `/p/${i}`);
    const stack = readHistoryStack(win);
    assert.equal(stack.length, HISTORY_STACK_LIMIT);
    assert.equal(stack.at(-1), `/p/${HISTORY_STACK_LIMIT + 19}`);
  });

  test('is installed once per page even if asked twice', () => {
    const win = fakeWindow({ flag: true });
    installHistoryStack(win);
    const patched = win.history.pushState;
    assert.equal(installHistoryStack(win), true);
    assert.equal(win.history.pushState, patched);
    win.history.pushState(null, '', '/x');
    assert.deepEqual(readHistoryStack(win), ['/', '/x']);
  });

  test('a storage failure never breaks navigation', () => {
    const win = fakeWindow({ flag: true, storageThrows: true });
    installHistoryStack(win);
    win.history.pushState(null, '', '/still-works');
    assert.equal(win.location.pathname, '/still-works');
    assert.deepEqual(readHistoryStack(win), []);
  });

  test('a corrupt stored stack is treated as empty and replaced', () => {
    const win = fakeWindow({ flag: true });
    win.session.set(HISTORY_STACK_KEY, '{not json');
    installHistoryStack(win);
    assert.deepEqual(readHistoryStack(win), ['/']);
  });

  test('a page without history or storage (node, workers) is left alone', () => {
    assert.equal(installHistoryStack({ __capgoKeepUrlPathAfterReload: true }), false);
  });
});
