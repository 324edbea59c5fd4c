/**
 * Entry point: `import { CapacitorUpdater } from '@airlock/capacitor-updater'` gives the same object as
 * `@capgo/capacitor-updater` does, backed by the Airlock agent in the native app and by `web.ts` in a browser.
 *
 * Invariant: the plugin is registered once under Capacitor's name `CapacitorUpdater` (the native shells use the
 * same name); the exported object differs from the registered one only in that `notifyAppReady()` carries the
 * page's ready token (`token.ts`). Importing also installs the `keepUrlPathAfterReload` route memory
 * (`history.ts`), which does nothing unless the app turned that feature on.
 *
 * @module
 */

import { registerPlugin } from '@capacitor/core';

import type { CapacitorUpdaterPlugin } from './definitions.js';
import { installHistoryStack } from './history.js';
import { withReadyToken } from './token.js';

installHistoryStack();

const registered = registerPlugin<CapacitorUpdaterPlugin>('CapacitorUpdater', {
  web: () => import('./web.js').then((m) => new m.CapacitorUpdaterWeb()),
});

/** The live-update plugin, with `@capgo/capacitor-updater`'s API. */
const CapacitorUpdater: CapacitorUpdaterPlugin = withReadyToken(registered);

export * from './definitions.js';
export * from './methods.js';
export { readReadyToken } from './token.js';
export type { AirlockPageGlobals } from './token.js';
export { CapacitorUpdater };
