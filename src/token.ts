/**
 * The per-load ready token: the native shell writes it into the page before the app's scripts run
 * (`window.__airlock = { token }`, DESIGN §7), and `notifyAppReady()` sends it back so that only the page that
 * was loaded for a boot attempt can confirm that boot.
 *
 * Invariant: the token is read at call time, never cached, and never invented: when the page has none (web,
 * tests, an old shell), the call goes out without one and the native side falls back to the token of the load it
 * started last. A token the caller passed explicitly wins over the injected one.
 *
 * @module
 */

import type { AppReadyResult, NotifyAppReadyOptions } from './types.js';

/** What the native shell injects into every page it loads. */
export interface AirlockPageGlobals {
  /** Per-load ready token for `notifyAppReady()`. */
  token?: string;
}

/** The injected token of this page, or undefined when the shell injected none. */
export function readReadyToken(scope: object = globalThis): string | undefined {
  const injected: unknown = (scope as { __airlock?: unknown }).__airlock;
  if (typeof injected !== 'object' || injected === null) {
    return undefined;
  }
  const token: unknown = (injected as AirlockPageGlobals).token;
  return typeof token === 'string' && token.length > 0 ? token : undefined;
}

/** The options `notifyAppReady()` sends to the native side: the caller's, plus the injected token if any. */
export function readyOptions(
  options: NotifyAppReadyOptions | undefined,
  token: string | undefined,
): NotifyAppReadyOptions {
  const chosen = options?.token ?? token;
  return chosen === undefined ? { ...options } : { ...options, token: chosen };
}

/** Anything with Capgo's `notifyAppReady`, such as the object `registerPlugin` returns. */
interface ReadyTarget {
  notifyAppReady(options?: NotifyAppReadyOptions): Promise<AppReadyResult>;
}

/**
 * Wraps a plugin object so that its `notifyAppReady()` carries the page's ready token; every other property is
 * the plugin's own. `scope` is where `__airlock` is looked up (the page's global object by default).
 */
export function withReadyToken<T extends ReadyTarget>(plugin: T, scope: object = globalThis): T {
  const notifyAppReady = (options?: NotifyAppReadyOptions): Promise<AppReadyResult> =>
    plugin.notifyAppReady(readyOptions(options, readReadyToken(scope)));
  return new Proxy(plugin, {
    get(target, property, receiver) {
      return property === 'notifyAppReady' ? notifyAppReady : Reflect.get(target, property, receiver);
    },
  });
}
