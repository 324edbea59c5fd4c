/**
 * Route memory for `keepUrlPathAfterReload`: the one side effect of importing the package, kept from Capgo's API
 * contract. When the feature is on, the page's routes are mirrored into `sessionStorage["__capgo_history_stack__"]`
 * so that the native shell can reopen the same route after it reloads the WebView into a new bundle:
 * `pushState` pushes, `replaceState` replaces the top, going back to the previous entry pops, and any other
 * `popstate` replaces the top.
 *
 * The feature is on when, at import time, `localStorage["__capgo_keep_url_path_after_reload"] === "1"` or
 * `window.__capgoKeepUrlPathAfterReload` is truthy (the shell sets the latter when the config asks for it).
 * The stack is a JSON array of same-origin URLs (`pathname + search + hash`), oldest first, at most 100
 * entries; its last entry is the page's current route.
 *
 * Invariant: when the feature is off, or the page has no `history`/`sessionStorage` (node, workers, sandboxed
 * frames), nothing is patched and nothing is written; the patch is installed at most once per page and never
 * changes what `pushState`/`replaceState` do, and a storage failure never breaks navigation.
 *
 * @module
 */

/** `sessionStorage` key of the route stack. */
export const HISTORY_STACK_KEY = '__capgo_history_stack__';
/** `localStorage` key that turns the feature on with the value `"1"`. */
export const KEEP_URL_PATH_FLAG_KEY = '__capgo_keep_url_path_after_reload';
/** Longest stack kept; older entries are dropped first. */
export const HISTORY_STACK_LIMIT = 100;

/** The parts of a browser window this module touches. */
export interface HistoryScope {
  history?: History;
  location?: { pathname: string; search: string; hash: string };
  sessionStorage?: Pick<Storage, 'getItem' | 'setItem'>;
  localStorage?: Pick<Storage, 'getItem'>;
  addEventListener?: (type: 'popstate', listener: () => void) => void;
  __capgoKeepUrlPathAfterReload?: unknown;
  __airlockHistoryStackInstalled?: boolean;
}

/** Whether the page asked for route memory. */
export function keepUrlPathEnabled(scope: HistoryScope): boolean {
  if (scope.__capgoKeepUrlPathAfterReload) {
    return true;
  }
  try {
    return scope.localStorage?.getItem(KEEP_URL_PATH_FLAG_KEY) === '1';
  } catch {
    return false;
  }
}

/** The stored stack (empty when missing or unreadable). */
export function readHistoryStack(scope: HistoryScope): string[] {
  try {
    const parsed: unknown = JSON.parse(scope.sessionStorage?.getItem(HISTORY_STACK_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((e): e is string => typeof e === 'string') : [];
  } catch {
    return [];
  }
}

function writeHistoryStack(scope: HistoryScope, stack: string[]): void {
  try {
    scope.sessionStorage?.setItem(HISTORY_STACK_KEY, JSON.stringify(stack.slice(-HISTORY_STACK_LIMIT)));
  } catch {
    // Storage full or blocked: the route is simply not remembered.
  }
}

function currentRoute(scope: HistoryScope): string | undefined {
  const l = scope.location;
  return l ? `${l.pathname}${l.search}${l.hash}` : undefined;
}

/** Records the current route: `push` adds it, `replace` overwrites the top, `pop` returns to an earlier entry. */
function record(scope: HistoryScope, mode: 'push' | 'replace' | 'pop'): void {
  const route = currentRoute(scope);
  if (route === undefined) {
    return;
  }
  const stack = readHistoryStack(scope);
  if (mode === 'push' && stack[stack.length - 1] !== route) {
    stack.push(route);
  } else if (mode === 'pop' && stack.length >= 2 && stack[stack.length - 2] === route) {
    stack.pop();
  } else if (stack.length === 0) {
    stack.push(route);
  } else {
    stack[stack.length - 1] = route;
  }
  writeHistoryStack(scope, stack);
}

/**
 * Installs the route memory on `scope` (the page's window by default) when the feature is on. Returns whether
 * the patch is active.
 */
export function installHistoryStack(scope: HistoryScope = globalThis as HistoryScope): boolean {
  const history = scope.history;
  if (!history || !scope.sessionStorage || !scope.location || !keepUrlPathEnabled(scope)) {
    return false;
  }
  if (scope.__airlockHistoryStackInstalled) {
    return true;
  }
  scope.__airlockHistoryStackInstalled = true;
  const push = history.pushState.bind(history);
  const replace = history.replaceState.bind(history);
  history.pushState = (data: unknown, unused: string, url?: string | URL | null): void => {
    push(data, unused, url);
    record(scope, 'push');
  };
  history.replaceState = (data: unknown, unused: string, url?: string | URL | null): void => {
    replace(data, unused, url);
    record(scope, 'replace');
  };
  scope.addEventListener?.('popstate', () => record(scope, 'pop'));
  record(scope, 'push');
  return true;
}
