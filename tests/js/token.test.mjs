// The ready-token helper in isolation (src/token.ts): what counts as an injected token, how it is merged into
// the options, and that the wrapper changes nothing but `notifyAppReady`.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { readReadyToken, readyOptions, withReadyToken } from '../../dist/esm/token.js';

describe('readReadyToken', () => {
  test('returns the non-empty string the shell put in __airlock.token', () => {
    assert.equal(readReadyToken({ __airlock: { token: 'abc' } }), 'abc');
  });

  test('returns undefined when nothing usable was injected', () => {
    const scopes = [
      {},
      { __airlock: null },
      { __airlock: 'abc' },
      { __airlock: {} },
      { __airlock: { token: '' } },
      { __airlock: { token: 7 } },
    ];
    for (const scope of scopes) {
      assert.equal(readReadyToken(scope), undefined, JSON.stringify(scope));
    }
  });

  test('reads the page global by default', () => {
    globalThis.__airlock = { token: 'global' };
    try {
      assert.equal(readReadyToken(), 'global');
    } finally {
      delete globalThis.__airlock;
    }
  });
});

describe('readyOptions', () => {
  test('adds the injected token, keeps an explicit one, and sends no token key when there is none', () => {
    assert.deepEqual(readyOptions(undefined, 't1'), { token: 't1' });
    assert.deepEqual(readyOptions({ token: 'mine' }, 't1'), { token: 'mine' });
    assert.deepEqual(readyOptions(undefined, undefined), {});
    assert.equal('token' in readyOptions({}, undefined), false);
  });
});

describe('withReadyToken', () => {
  test('only notifyAppReady gains the token; other members are the plugin own', async () => {
    const seen = [];
    const plugin = {
      notifyAppReady: async (o) => (seen.push(o), { bundle: { id: 'x' } }),
      current: async (o) => (seen.push(o), 'current'),
      flag: 42,
    };
    const scope = { __airlock: { token: 'tk' } };
    const wrapped = withReadyToken(plugin, scope);
    assert.deepEqual(await wrapped.notifyAppReady(), { bundle: { id: 'x' } });
    assert.equal(await wrapped.current({ a: 1 }), 'current');
    assert.equal(wrapped.flag, 42);
    assert.deepEqual(seen, [{ token: 'tk' }, { a: 1 }]);
  });
});
