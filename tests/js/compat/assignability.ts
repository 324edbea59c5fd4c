/**
 * Type-level proof that Airlock's plugin can stand in for Capgo's (compiled with tsconfig.assign.json, which
 * loads both packages side by side).
 *
 * 1. Airlock's `CapacitorUpdater` object is assignable to Capgo's `CapacitorUpdaterPlugin`, except for the one
 *    documented difference (`ChannelInfo.id` is `string | number`, Capgo says `number`).
 * 2. For every method Airlock implements, Capgo-shaped arguments are accepted and Airlock's result is a valid
 *    Capgo result.
 * 3. Listeners typed with Capgo's event payloads can be attached to Airlock's object for every event.
 * 4. Airlock's web class (what a browser gets) satisfies Capgo's interface the same way.
 */

import type * as Capgo from '@capgo/capacitor-updater';
import {
  CapacitorUpdater,
  type CapacitorUpdaterPlugin,
  type SupportedMethod,
  type UnimplementedMethod,
} from '@airlock/capacitor-updater';
import type { CapacitorUpdaterWeb } from '../../../dist/esm/web.js';

type CapgoPlugin = Capgo.CapacitorUpdaterPlugin;
type AirlockOnly = 'setAttributes' | 'getAttributes';
type Shared = Exclude<SupportedMethod, AirlockOnly>;

/** Resolves to `true`, or to the names of the methods for which `Check` failed (shown in the error). */
type NoneFailing<Failing> = [Failing] extends [never] ? true : Failing;

// 1. Whole-object assignability.
export const mostlyCapgo: Omit<CapgoPlugin, 'listChannels'> = CapacitorUpdater;
// @ts-expect-error the single difference: ChannelInfo.id is `string | number` (Capgo: `number`)
export const exactlyCapgo: CapgoPlugin = CapacitorUpdater;
export const channelsExceptId: Promise<{ channels: Omit<Capgo.ChannelInfo, 'id'>[] }> = CapacitorUpdater.listChannels();

// 2a. Every Capgo method name exists on Airlock's interface, and is classified.
type MissingInAirlock = Exclude<keyof CapgoPlugin, keyof CapacitorUpdaterPlugin>;
export const noneMissing: NoneFailing<MissingInAirlock> = true;
type Classified = SupportedMethod | UnimplementedMethod | 'addListener' | 'removeAllListeners';
type Unclassified = Exclude<keyof CapgoPlugin, Classified>;
export const allClassified: NoneFailing<Unclassified> = true;

// 2b. Capgo-shaped arguments are accepted by Airlock's implemented methods.
type RejectsCapgoArgs = {
  [M in Shared]: Parameters<CapgoPlugin[M]> extends Parameters<CapacitorUpdaterPlugin[M]> ? never : M;
}[Shared];
export const acceptsCapgoArgs: NoneFailing<RejectsCapgoArgs> = true;

// 2c. Airlock's results are valid Capgo results (listChannels aside, see 1).
type ResultNotCapgo = {
  [M in Exclude<Shared, 'listChannels'>]: Awaited<ReturnType<CapacitorUpdaterPlugin[M]>> extends Awaited<
    ReturnType<CapgoPlugin[M]>
  >
    ? never
    : M;
}[Exclude<Shared, 'listChannels'>];
export const resultsAreCapgo: NoneFailing<ResultNotCapgo> = true;

// 2d. The same holds for the methods Airlock does not implement (so Capgo-typed code calling them compiles).
type UnimplementedMismatch = {
  [M in UnimplementedMethod]: Parameters<CapgoPlugin[M]> extends Parameters<CapacitorUpdaterPlugin[M]>
    ? Awaited<ReturnType<CapacitorUpdaterPlugin[M]>> extends Awaited<ReturnType<CapgoPlugin[M]>>
      ? never
      : M
    : M;
}[UnimplementedMethod];
export const unimplementedKeepCapgoShapes: NoneFailing<UnimplementedMismatch> = true;

// 2e. Data types in both directions where app code builds them (options) and reads them (results).
export function bundleRoundTrip(a: Capgo.BundleInfo, b: import('@airlock/capacitor-updater').BundleInfo) {
  const toAirlock: import('@airlock/capacitor-updater').BundleInfo = a;
  const toCapgo: Capgo.BundleInfo = b;
  const latest: Capgo.LatestVersion = {} as import('@airlock/capacitor-updater').LatestVersion;
  const delay: import('@airlock/capacitor-updater').DelayCondition = {} as Capgo.DelayCondition;
  const delayBack: Capgo.DelayCondition = {} as import('@airlock/capacitor-updater').DelayCondition;
  return [toAirlock, toCapgo, latest, delay, delayBack];
}

// 3. Capgo-typed listeners attach to Airlock's object for every event.
export async function capgoListeners(): Promise<void> {
  await CapacitorUpdater.addListener('download', (e: Capgo.DownloadEvent) => e.percent);
  await CapacitorUpdater.addListener('downloadComplete', (e: Capgo.DownloadCompleteEvent) => e.bundle);
  await CapacitorUpdater.addListener('downloadFailed', (e: Capgo.DownloadFailedEvent) => e.version);
  await CapacitorUpdater.addListener('updateAvailable', (e: Capgo.UpdateAvailableEvent) => e.bundle);
  await CapacitorUpdater.addListener('noNeedUpdate', (e: Capgo.NoNeedEvent) => e.bundle);
  await CapacitorUpdater.addListener('breakingAvailable', (e: Capgo.BreakingAvailableEvent) => e.version);
  await CapacitorUpdater.addListener('majorAvailable', (e: Capgo.MajorAvailableEvent) => e.version);
  await CapacitorUpdater.addListener('updateFailed', (e: Capgo.UpdateFailedEvent) => e.bundle);
  await CapacitorUpdater.addListener('set', (e: Capgo.SetEvent) => e.bundle);
  await CapacitorUpdater.addListener('setNext', (e: Capgo.SetNextEvent) => e.bundle);
  await CapacitorUpdater.addListener('appReloaded', () => undefined);
  await CapacitorUpdater.addListener('appReady', (e: Capgo.AppReadyEvent) => e.status);
  await CapacitorUpdater.addListener('channelPrivate', (e: Capgo.ChannelPrivateEvent) => e.message);
  await CapacitorUpdater.addListener('updateCheckResult', (e: Capgo.UpdateCheckResultEvent) => e.kind);
  await CapacitorUpdater.addListener('onFlexibleUpdateStateChange', (e: Capgo.FlexibleUpdateState) => e.installStatus);
  // @ts-expect-error unknown event names are refused
  await CapacitorUpdater.addListener('downloadStarted', () => undefined);
}

// 4. The web implementation stands in for Capgo's interface too.
export function webAsCapgo(web: CapacitorUpdaterWeb): Omit<CapgoPlugin, 'listChannels'> {
  return web;
}
