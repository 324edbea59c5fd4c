/**
 * Machine-readable parity lists: which methods and events of `CapacitorUpdaterPlugin` the native shells
 * implement, which reject with `UNIMPLEMENTED`, and which Capacitor itself provides.
 *
 * Invariant: every method of `CapacitorUpdaterPlugin` (definitions.ts) is in exactly one of `SUPPORTED_METHODS`,
 * `UNIMPLEMENTED_METHODS` and `BRIDGE_METHODS`, and every event name of its `addListener` overloads is in exactly
 * one of `SUPPORTED_EVENTS` and `UNIMPLEMENTED_EVENTS`. The compiler checks this below; tests/js checks it again
 * from the source text. Keep one quoted name per line: the Kotlin and Swift parity tests read this file as text.
 *
 * @module
 */

import type { CapacitorUpdaterPlugin } from './definitions.js';

/** Methods the Android and iOS shells implement (DESIGN §8 parity table, plus Airlock's attributes). */
export const SUPPORTED_METHODS = [
  'notifyAppReady',
  'download',
  'next',
  'set',
  'reload',
  'reset',
  'current',
  'list',
  'delete',
  'getNextBundle',
  'getFailedUpdate',
  'setMultiDelay',
  'cancelDelay',
  'getLatest',
  'setChannel',
  'unsetChannel',
  'getChannel',
  'listChannels',
  'setCustomId',
  'getDeviceId',
  'getBuiltinVersion',
  'getPluginVersion',
  'isAutoUpdateEnabled',
  'triggerUpdateCheck',
  'setAttributes',
  'getAttributes',
] as const;

/** Capgo methods that exist in the interface but reject with Capacitor's `UNIMPLEMENTED` error everywhere. */
export const UNIMPLEMENTED_METHODS = [
  'setUpdateUrl',
  'setStatsUrl',
  'setChannelUrl',
  'getAppId',
  'setAppId',
  'setBundleError',
  'getMissingBundleFiles',
  'getBundleDownloadSize',
  'isAutoUpdateAvailable',
  'startPreviewSession',
  'listPreviews',
  'setPreview',
  'resetPreview',
  'deletePreview',
  'checkPreviewUpdate',
  'updatePreview',
  'setShakeMenu',
  'isShakeMenuEnabled',
  'setShakeChannelSelector',
  'isShakeChannelSelectorEnabled',
  'getAppUpdateInfo',
  'openAppStore',
  'performImmediateUpdate',
  'startFlexibleUpdate',
  'completeFlexibleUpdate',
] as const;

/** Methods Capacitor's plugin base classes provide on every platform; the shells do not declare them. */
export const BRIDGE_METHODS = ['addListener', 'removeAllListeners'] as const;

/** Events the shells emit (Capgo's names; `majorAvailable` is sent together with `breakingAvailable`). */
export const SUPPORTED_EVENTS = [
  'download',
  'downloadComplete',
  'downloadFailed',
  'updateAvailable',
  'noNeedUpdate',
  'breakingAvailable',
  'majorAvailable',
  'updateFailed',
  'set',
  'setNext',
  'appReloaded',
  'appReady',
  'channelPrivate',
  'updateCheckResult',
] as const;

/** Capgo events that Airlock never emits. */
export const UNIMPLEMENTED_EVENTS = ['onFlexibleUpdateStateChange'] as const;

/** A method the shells implement. */
export type SupportedMethod = (typeof SUPPORTED_METHODS)[number];
/** A Capgo method that rejects with `UNIMPLEMENTED`. */
export type UnimplementedMethod = (typeof UNIMPLEMENTED_METHODS)[number];
/** A method Capacitor provides. */
export type BridgeMethod = (typeof BRIDGE_METHODS)[number];
/** An event the shells emit. */
export type SupportedEvent = (typeof SUPPORTED_EVENTS)[number];

/** Event names accepted by `addListener`, taken from its overloads. */
type ListenerEventName = OverloadEventNames<CapacitorUpdaterPlugin['addListener']>;

/** Collects the first parameter of up to 16 overloads (more than `addListener` has). */
type OverloadEventNames<F> = F extends {
  (e: infer A1, ...r: never[]): unknown;
  (e: infer A2, ...r: never[]): unknown;
  (e: infer A3, ...r: never[]): unknown;
  (e: infer A4, ...r: never[]): unknown;
  (e: infer A5, ...r: never[]): unknown;
  (e: infer A6, ...r: never[]): unknown;
  (e: infer A7, ...r: never[]): unknown;
  (e: infer A8, ...r: never[]): unknown;
  (e: infer A9, ...r: never[]): unknown;
  (e: infer A10, ...r: never[]): unknown;
  (e: infer A11, ...r: never[]): unknown;
  (e: infer A12, ...r: never[]): unknown;
  (e: infer A13, ...r: never[]): unknown;
  (e: infer A14, ...r: never[]): unknown;
  (e: infer A15, ...r: never[]): unknown;
  (e: infer A16, ...r: never[]): unknown;
}
  ? A1 | A2 | A3 | A4 | A5 | A6 | A7 | A8 | A9 | A10 | A11 | A12 | A13 | A14 | A15 | A16
  : never;

type Listed = SupportedMethod | UnimplementedMethod | BridgeMethod;
type ListedEvent = SupportedEvent | (typeof UNIMPLEMENTED_EVENTS)[number];

/** `true` when `Names` is empty; otherwise the names themselves, so the compiler error lists them. */
type NoneOf<Names> = [Names] extends [never] ? true : Names;

// Compile-time proof that the lists and the interface agree: an error on one of these lines names the method or
// event that is missing from a list (or listed but not in the interface).
const unlistedMethods: NoneOf<Exclude<keyof CapacitorUpdaterPlugin, Listed>> = true;
const listedButNotInInterface: NoneOf<Exclude<Listed, keyof CapacitorUpdaterPlugin>> = true;
const unlistedEvents: NoneOf<Exclude<ListenerEventName, ListedEvent>> = true;
const listedButNotAnEvent: NoneOf<Exclude<ListedEvent, ListenerEventName>> = true;
void [unlistedMethods, listedButNotInInterface, unlistedEvents, listedButNotAnEvent];
