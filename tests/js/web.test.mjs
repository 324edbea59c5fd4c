// In a browser (here: node, which Capacitor also treats as the web platform) the exported `CapacitorUpdater`
// loads web.ts: every implemented method resolves with an inert answer, every Capgo method Airlock does not
// implement rejects with UNIMPLEMENTED, and nothing ever claims a live bundle.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

const warnings = [];
console.warn = (...args) => warnings.push(args.join(' '));

const { CapacitorUpdater, SUPPORTED_METHODS, UNIMPLEMENTED_METHODS, WEB_BUILTIN_VERSION } = await import(
  '../../dist/esm/index.js'
).then(async (m) => ({ ...m, ...(await import('../../dist/esm/web.js')) }));
const { Capacitor } = await import('@capacitor/core');

const builtin = {
  id: 'builtin',
  version: WEB_BUILTIN_VERSION,
  downloaded: '1970-01-01T00:00:00.000Z',
  checksum: '',
  status: 'success',
};

/** Plausible Capgo-shaped arguments for each implemented method. */
const ARGS = {
  download: { url: 'https://example.invalid/b.zip', version: '1.0.1' },
  next: { id: 'abc' },
  set: { id: 'abc' },
  delete: { id: 'abc' },
  setMultiDelay: { delayConditions: [{ kind: 'kill' }] },
  setChannel: { channel: 'beta' },
  unsetChannel: {},
  setCustomId: { customId: 'u1' },
  setAttributes: { attributes: { plan: 'pro' } },
};

describe('the web implementation', () => {
  test('runs on the web platform', () => {
    assert.equal(Capacitor.getPlatform(), 'web');
  });

  test('a state-changing call warns once per method that nothing happens on the web', async () => {
    warnings.length = 0;
    await CapacitorUpdater.reload();
    await CapacitorUpdater.reload();
    await CapacitorUpdater.next(ARGS.next);
    assert.equal(warnings.filter((w) => w.includes('CapacitorUpdater.reload()')).length, 1);
    assert.equal(warnings.filter((w) => w.includes('CapacitorUpdater.next()')).length, 1);
  });

  test('every implemented method resolves', async () => {
    for (const method of SUPPORTED_METHODS) {
      await assert.doesNotReject(CapacitorUpdater[method](ARGS[method]), method);
    }
  });

  test('the page always runs its own bundle, reported as builtin', async () => {
    globalThis.__airlock = { token: 'ignored-on-web' };
    assert.deepEqual(await CapacitorUpdater.notifyAppReady(), { bundle: builtin });
    delete globalThis.__airlock;
    assert.deepEqual(await CapacitorUpdater.current(), { bundle: builtin, native: WEB_BUILTIN_VERSION });
    assert.deepEqual(await CapacitorUpdater.download(ARGS.download), builtin);
    assert.deepEqual(await CapacitorUpdater.list(), { bundles: [] });
    assert.equal(await CapacitorUpdater.getNextBundle(), null);
    assert.equal(await CapacitorUpdater.getFailedUpdate(), null);
    assert.deepEqual(await CapacitorUpdater.getBuiltinVersion(), { version: WEB_BUILTIN_VERSION });
    assert.deepEqual(await CapacitorUpdater.isAutoUpdateEnabled(), { enabled: false });
    assert.deepEqual(await CapacitorUpdater.triggerUpdateCheck(), { status: 'unavailable', queued: false });
    assert.equal((await CapacitorUpdater.getLatest()).kind, 'up_to_date');
    assert.deepEqual(await CapacitorUpdater.listChannels(), { channels: [] });
    assert.equal((await CapacitorUpdater.setChannel(ARGS.setChannel)).status, 'error');
  });

  test('attributes read back what the page set (in memory, copied)', async () => {
    const attributes = { plan: 'pro', cohort: 'a' };
    await CapacitorUpdater.setAttributes({ attributes });
    attributes.plan = 'changed-after-the-call';
    assert.deepEqual(await CapacitorUpdater.getAttributes(), { attributes: { plan: 'pro', cohort: 'a' } });
    await CapacitorUpdater.setAttributes({ attributes: {} });
    assert.deepEqual(await CapacitorUpdater.getAttributes(), { attributes: {} });
  });

  test('every Capgo method Airlock does not implement rejects with UNIMPLEMENTED, naming the method', async () => {
    for (const method of UNIMPLEMENTED_METHODS) {
      await assert.rejects(
        CapacitorUpdater[method]({ id: 'x', enabled: true, url: 'https://example.invalid', appId: 'a' }),
        (e) => e.code === 'UNIMPLEMENTED' && e.message.includes(`${method}()`) && e.message.includes('docs/js-api.md'),
        method,
      );
    }
  });

  test('listeners attach and detach like any Capacitor web plugin', async () => {
    const handle = await CapacitorUpdater.addListener('set', () => {});
    await handle.remove();
    await CapacitorUpdater.removeAllListeners();
  });
});
