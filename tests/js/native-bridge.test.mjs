// The exported `CapacitorUpdater` talks to a native shell through Capacitor's real `registerPlugin` machinery.
// The page is made to look like an Android WebView (`androidBridge`), and the bridge's `nativePromise` is a
// recorder standing in for the Kotlin shell, declaring only the methods the shell implements. Checked: the ready
// token the shell injected reaches the native `notifyAppReady`, other calls pass through untouched, and Capgo
// methods the shell does not declare reject with Capacitor's UNIMPLEMENTED error.

import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';

import { SUPPORTED_METHODS, UNIMPLEMENTED_METHODS } from '../../dist/esm/methods.js';

const calls = [];
globalThis.androidBridge = {};
globalThis.Capacitor = {
  PluginHeaders: [
    {
      name: 'CapacitorUpdater',
      methods: [...SUPPORTED_METHODS, 'addListener', 'removeListener', 'removeAllListeners'].map((name) => ({
        name,
        rtype: name === 'addListener' || name === 'removeListener' ? 'callback' : 'promise',
      })),
    },
  ],
  nativePromise: async (plugin, method, options) => {
    calls.push({ plugin, method, options });
    return method === 'notifyAppReady' ? { bundle: { id: 'b1', status: 'success' } } : {};
  },
  nativeCallback: (plugin, method, options) => {
    calls.push({ plugin, method, options });
    return 'callback-1';
  },
};

const { CapacitorUpdater } = await import('../../dist/esm/index.js');
const { Capacitor } = await import('@capacitor/core');

describe('the exported plugin on a native platform', () => {
  beforeEach(() => {
    calls.length = 0;
    delete globalThis.__airlock;
  });

  test('the page looks native to Capacitor', () => {
    assert.equal(Capacitor.getPlatform(), 'android');
    assert.equal(Capacitor.isPluginAvailable('CapacitorUpdater'), true);
  });

  test('notifyAppReady() sends the token the shell injected as window.__airlock.token', async () => {
    globalThis.__airlock = { token: 'load-7f3a' };
    const result = await CapacitorUpdater.notifyAppReady();
    assert.deepEqual(result, { bundle: { id: 'b1', status: 'success' } });
    assert.deepEqual(calls, [
      { plugin: 'CapacitorUpdater', method: 'notifyAppReady', options: { token: 'load-7f3a' } },
    ]);
  });

  test('the token is read at call time, so a page that received a new token sends the new one', async () => {
    globalThis.__airlock = { token: 'first' };
    await CapacitorUpdater.notifyAppReady();
    globalThis.__airlock.token = 'second';
    await CapacitorUpdater.notifyAppReady();
    assert.deepEqual(
      calls.map((c) => c.options.token),
      ['first', 'second'],
    );
  });

  test('without an injected token the call carries none and the native side uses its current load', async () => {
    await CapacitorUpdater.notifyAppReady();
    globalThis.__airlock = { token: '' };
    await CapacitorUpdater.notifyAppReady();
    globalThis.__airlock = 'not-an-object';
    await CapacitorUpdater.notifyAppReady();
    assert.equal(calls.length, 3);
    for (const c of calls) assert.deepEqual(c.options, {});
  });

  test('a token passed by the caller wins over the injected one', async () => {
    globalThis.__airlock = { token: 'injected' };
    await CapacitorUpdater.notifyAppReady({ token: 'explicit' });
    assert.deepEqual(calls[0].options, { token: 'explicit' });
  });

  test('other methods reach the shell with their options untouched and no token', async () => {
    globalThis.__airlock = { token: 'load-1' };
    await CapacitorUpdater.download({ url: 'https://example.invalid/b.zip', version: '1.2.3', checksum: 'ab' });
    await CapacitorUpdater.set({ id: 'b1' });
    await CapacitorUpdater.current();
    await CapacitorUpdater.setAttributes({ attributes: { plan: 'pro' } });
    assert.deepEqual(calls, [
      {
        plugin: 'CapacitorUpdater',
        method: 'download',
        options: { url: 'https://example.invalid/b.zip', version: '1.2.3', checksum: 'ab' },
      },
      { plugin: 'CapacitorUpdater', method: 'set', options: { id: 'b1' } },
      { plugin: 'CapacitorUpdater', method: 'current', options: undefined },
      { plugin: 'CapacitorUpdater', method: 'setAttributes', options: { attributes: { plan: 'pro' } } },
    ]);
  });

  test('every supported method is routed to the shell', async () => {
    for (const method of SUPPORTED_METHODS) {
      await CapacitorUpdater[method]({});
    }
    assert.deepEqual(
      calls.map((c) => c.method),
      [...SUPPORTED_METHODS],
    );
  });

  test('a Capgo method the shell does not declare rejects with UNIMPLEMENTED and never reaches it', async () => {
    for (const method of UNIMPLEMENTED_METHODS) {
      await assert.rejects(CapacitorUpdater[method]({}), (e) => e.code === 'UNIMPLEMENTED', method);
    }
    assert.deepEqual(calls, []);
  });

  test('listeners are registered through the native bridge', async () => {
    const handle = await CapacitorUpdater.addListener('download', () => {});
    assert.equal(typeof handle.remove, 'function');
    assert.deepEqual(calls[0], {
      plugin: 'CapacitorUpdater',
      method: 'addListener',
      options: { eventName: 'download' },
    });
  });
});
