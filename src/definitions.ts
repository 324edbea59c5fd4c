/**
 * The JavaScript API of the `CapacitorUpdater` plugin.
 *
 * Invariant: every method, option, result and event of `@capgo/capacitor-updater` exists here with Capgo's name
 * and shape, so an app switches by changing its import. Each method is either implemented by the Airlock shells
 * (listed in `SUPPORTED_METHODS` of `methods.ts`) or rejects with Capacitor's `UNIMPLEMENTED` error (listed in
 * `UNIMPLEMENTED_METHODS`, and marked "Not implemented by Airlock" below). Airlock's additions are marked
 * "Airlock".
 *
 * @module
 */

import type { PluginListenerHandle } from '@capacitor/core';

import type {
  AppUpdateInfo,
  AppUpdateResult,
  DeletePreviewResult,
  FlexibleUpdateState,
  GetAppUpdateInfoOptions,
  OpenAppStoreOptions,
  PreviewListResult,
  PreviewUpdateResult,
  SetShakeChannelSelectorOptions,
  SetShakeMenuOptions,
  ShakeChannelSelectorEnabled,
  ShakeMenuEnabled,
  StartPreviewSessionOptions,
} from './capgo-only.js';
import type {
  AppReadyEvent,
  BreakingAvailableEvent,
  ChannelPrivateEvent,
  DownloadCompleteEvent,
  DownloadEvent,
  DownloadFailedEvent,
  MajorAvailableEvent,
  NoNeedEvent,
  SetEvent,
  SetNextEvent,
  UpdateAvailableEvent,
  UpdateCheckResultEvent,
  UpdateFailedEvent,
} from './events.js';
import type {
  AppReadyResult,
  AttributesResult,
  AutoUpdateAvailable,
  AutoUpdateEnabled,
  BuiltinVersion,
  BundleId,
  BundleInfo,
  BundleListResult,
  ChannelRes,
  ChannelUrl,
  CurrentBundleResult,
  DeviceId,
  DownloadOptions,
  GetAppIdRes,
  GetBundleDownloadSizeOptions,
  GetBundleDownloadSizeResult,
  GetChannelRes,
  GetLatestOptions,
  GetMissingBundleFilesOptions,
  GetMissingBundleFilesResult,
  LatestVersion,
  ListChannelsResult,
  ListOptions,
  MultiDelayConditions,
  NotifyAppReadyOptions,
  PluginVersion,
  ResetOptions,
  SetAppIdOptions,
  SetAttributesOptions,
  SetChannelOptions,
  SetCustomIdOptions,
  StatsUrl,
  TriggerUpdateCheckResult,
  UnsetChannelOptions,
  UpdateUrl,
} from './types.js';

export * from './capgo-only.js';
export type * from './events.js';
export type * from './types.js';
export type { AutoUpdateMode, CapacitorUpdaterConfig } from './config.js';

/**
 * Live updates of the app's web bundle. Every method runs its work on a native background thread; none blocks
 * the UI.
 */
export interface CapacitorUpdaterPlugin {
  // ---- Boot confirmation -------------------------------------------------------------------------------------

  /**
   * Confirms that the current bundle booted. Call it early on every launch, within `appReadyTimeout`; a bundle
   * whose page never calls it is rolled back to the last good bundle. Never rejects.
   *
   * The package sends the per-load token the native shell injected into this page (`window.__airlock.token`),
   * so only the page that was actually loaded can confirm its bundle; a call from an older page is ignored.
   * Without a token the native side uses the token of the load it started last. Apps call it without arguments.
   */
  notifyAppReady(options?: NotifyAppReadyOptions): Promise<AppReadyResult>;

  // ---- Bundles -----------------------------------------------------------------------------------------------

  /**
   * Downloads, verifies and unpacks a bundle without activating it. Emits `download` progress (by bytes), then
   * `downloadComplete` and `updateAvailable`; rejects and emits `downloadFailed` when anything fails, leaving the
   * running bundle untouched.
   */
  download(options: DownloadOptions): Promise<BundleInfo>;

  /** Queues a downloaded bundle for the next reload, background or restart (subject to `setMultiDelay()`). */
  next(options: BundleId): Promise<BundleInfo>;

  /** Activates a downloaded bundle now and reloads the WebView into it. The page that called it goes away. */
  set(options: BundleId): Promise<void>;

  /** Reloads the WebView, applying the queued bundle when there is one. */
  reload(): Promise<void>;

  /** Goes back to the builtin bundle (or the last confirmed one with `toLastSuccessful`) and reloads. */
  reset(options?: ResetOptions): Promise<void>;

  /** The bundle being served and the builtin version. */
  current(): Promise<CurrentBundleResult>;

  /** The bundles on the device. */
  list(options?: ListOptions): Promise<BundleListResult>;

  /** Deletes a bundle; refuses the builtin, the current and the queued bundle. */
  delete(options: BundleId): Promise<void>;

  /** The bundle queued by `next()`, or null. */
  getNextBundle(): Promise<BundleInfo | null>;

  /** The bundle most recently rolled back, or null. Cleared by the first call that returns it. */
  getFailedUpdate(): Promise<UpdateFailedEvent | null>;

  /** Conditions that must all be met before the queued bundle is applied; replaces earlier conditions. */
  setMultiDelay(options: MultiDelayConditions): Promise<void>;

  /** Removes the conditions of `setMultiDelay()`. */
  cancelDelay(): Promise<void>;

  // ---- Update checks and channels ----------------------------------------------------------------------------

  /**
   * What the update source offers this device now, without downloading it. Resolves when the source answered
   * (also for "up to date" and "blocked", see `kind`); rejects when the check failed.
   */
  getLatest(options?: GetLatestOptions): Promise<LatestVersion>;

  /** Starts the automatic check-download-apply pipeline now (from a push notification, for example). */
  triggerUpdateCheck(): Promise<TriggerUpdateCheckResult>;

  /** Assigns this device to a channel that allows self-assignment; emits `channelPrivate` on refusal. */
  setChannel(options: SetChannelOptions): Promise<ChannelRes>;

  /** Returns this device to the default channel (local, no network). */
  unsetChannel(options: UnsetChannelOptions): Promise<void>;

  /** The channel this device reads and whether it may change it. */
  getChannel(): Promise<GetChannelRes>;

  /** The channels this device may assign itself to. */
  listChannels(): Promise<ListChannelsResult>;

  // ---- Identity ----------------------------------------------------------------------------------------------

  /** Sets the custom id sent with checks and stats; `""` clears it. */
  setCustomId(options: SetCustomIdOptions): Promise<void>;

  /** The random device id (created once per installation). */
  getDeviceId(): Promise<DeviceId>;

  /** Version of the bundle shipped in the app. */
  getBuiltinVersion(): Promise<BuiltinVersion>;

  /** Version of the native agent. */
  getPluginVersion(): Promise<PluginVersion>;

  /** Whether automatic updates are on. */
  isAutoUpdateEnabled(): Promise<AutoUpdateEnabled>;

  /** Airlock: replaces this device's targeting attributes (rollout rules match on them; they stay on the device). */
  setAttributes(options: SetAttributesOptions): Promise<void>;

  /** Airlock: the attributes last set with `setAttributes()`. */
  getAttributes(): Promise<AttributesResult>;

  // ---- Events ------------------------------------------------------------------------------------------------

  /** Removes every listener of this plugin. */
  removeAllListeners(): Promise<void>;

  /** Download progress, 0 to 100, by bytes. */
  addListener(eventName: 'download', listenerFunc: (state: DownloadEvent) => void): Promise<PluginListenerHandle>;
  /** A check found nothing to install. */
  addListener(eventName: 'noNeedUpdate', listenerFunc: (state: NoNeedEvent) => void): Promise<PluginListenerHandle>;
  /** How a check that offered nothing ended (before `noNeedUpdate` or `downloadFailed`). */
  addListener(
    eventName: 'updateCheckResult',
    listenerFunc: (state: UpdateCheckResultEvent) => void,
  ): Promise<PluginListenerHandle>;
  /** A new bundle is ready on the device. */
  addListener(
    eventName: 'updateAvailable',
    listenerFunc: (state: UpdateAvailableEvent) => void,
  ): Promise<PluginListenerHandle>;
  /** A download finished and was verified. */
  addListener(
    eventName: 'downloadComplete',
    listenerFunc: (state: DownloadCompleteEvent) => void,
  ): Promise<PluginListenerHandle>;
  /** A release needs a newer native app. */
  addListener(
    eventName: 'breakingAvailable',
    listenerFunc: (state: BreakingAvailableEvent) => void,
  ): Promise<PluginListenerHandle>;
  /** @deprecated Same as `breakingAvailable`; both are emitted. */
  addListener(
    eventName: 'majorAvailable',
    listenerFunc: (state: MajorAvailableEvent) => void,
  ): Promise<PluginListenerHandle>;
  /** A bundle never called `notifyAppReady()` and was rolled back. */
  addListener(
    eventName: 'updateFailed',
    listenerFunc: (state: UpdateFailedEvent) => void,
  ): Promise<PluginListenerHandle>;
  /** A bundle was activated (kept until a listener receives it). */
  addListener(eventName: 'set', listenerFunc: (state: SetEvent) => void): Promise<PluginListenerHandle>;
  /** A bundle was queued. */
  addListener(eventName: 'setNext', listenerFunc: (state: SetNextEvent) => void): Promise<PluginListenerHandle>;
  /** A download failed; nothing was activated. */
  addListener(
    eventName: 'downloadFailed',
    listenerFunc: (state: DownloadFailedEvent) => void,
  ): Promise<PluginListenerHandle>;
  /** The native side reloaded the WebView. */
  addListener(eventName: 'appReloaded', listenerFunc: () => void): Promise<PluginListenerHandle>;
  /** The page confirmed its bundle (kept until a listener receives it). */
  addListener(eventName: 'appReady', listenerFunc: (state: AppReadyEvent) => void): Promise<PluginListenerHandle>;
  /** `setChannel()` was refused. */
  addListener(
    eventName: 'channelPrivate',
    listenerFunc: (state: ChannelPrivateEvent) => void,
  ): Promise<PluginListenerHandle>;
  /** Capgo's Play-store flexible update progress. Never emitted by Airlock. */
  addListener(
    eventName: 'onFlexibleUpdateStateChange',
    listenerFunc: (state: FlexibleUpdateState) => void,
  ): Promise<PluginListenerHandle>;

  // ---- Capgo features Airlock does not implement: each rejects with `UNIMPLEMENTED` ----------------------------

  /** Not implemented by Airlock (update URLs come from `capacitor.config`). Rejects with `UNIMPLEMENTED`. */
  setUpdateUrl(options: UpdateUrl): Promise<void>;
  /** Not implemented by Airlock (update URLs come from `capacitor.config`). Rejects with `UNIMPLEMENTED`. */
  setStatsUrl(options: StatsUrl): Promise<void>;
  /** Not implemented by Airlock (update URLs come from `capacitor.config`). Rejects with `UNIMPLEMENTED`. */
  setChannelUrl(options: ChannelUrl): Promise<void>;
  /** Not implemented by Airlock (the app id comes from `capacitor.config`). Rejects with `UNIMPLEMENTED`. */
  getAppId(): Promise<GetAppIdRes>;
  /** Not implemented by Airlock (the app id comes from `capacitor.config`). Rejects with `UNIMPLEMENTED`. */
  setAppId(options: SetAppIdOptions): Promise<void>;
  /** Not implemented by Airlock (a bundle fails by missing `notifyAppReady()`). Rejects with `UNIMPLEMENTED`. */
  setBundleError(options: BundleId): Promise<BundleInfo>;
  /** Not implemented by Airlock (delta reuse happens inside `download()`). Rejects with `UNIMPLEMENTED`. */
  getMissingBundleFiles(options: GetMissingBundleFilesOptions): Promise<GetMissingBundleFilesResult>;
  /** Not implemented by Airlock. Rejects with `UNIMPLEMENTED`. */
  getBundleDownloadSize(options: GetBundleDownloadSizeOptions): Promise<GetBundleDownloadSizeResult>;
  /** Not implemented by Airlock (use `isAutoUpdateEnabled()`). Rejects with `UNIMPLEMENTED`. */
  isAutoUpdateAvailable(): Promise<AutoUpdateAvailable>;
  /** Not implemented by Airlock (Capgo preview sessions). Rejects with `UNIMPLEMENTED`. */
  startPreviewSession(options?: StartPreviewSessionOptions): Promise<void>;
  /** Not implemented by Airlock (Capgo preview sessions). Rejects with `UNIMPLEMENTED`. */
  listPreviews(): Promise<PreviewListResult>;
  /** Not implemented by Airlock (Capgo preview sessions). Rejects with `UNIMPLEMENTED`. */
  setPreview(options: BundleId): Promise<void>;
  /** Not implemented by Airlock (Capgo preview sessions). Rejects with `UNIMPLEMENTED`. */
  resetPreview(): Promise<void>;
  /** Not implemented by Airlock (Capgo preview sessions). Rejects with `UNIMPLEMENTED`. */
  deletePreview(options: BundleId): Promise<DeletePreviewResult>;
  /** Not implemented by Airlock (Capgo preview sessions). Rejects with `UNIMPLEMENTED`. */
  checkPreviewUpdate(options: BundleId): Promise<PreviewUpdateResult>;
  /** Not implemented by Airlock (Capgo preview sessions). Rejects with `UNIMPLEMENTED`. */
  updatePreview(options: BundleId): Promise<PreviewUpdateResult>;
  /** Not implemented by Airlock (Capgo debug shake menu). Rejects with `UNIMPLEMENTED`. */
  setShakeMenu(options: SetShakeMenuOptions): Promise<void>;
  /** Not implemented by Airlock (Capgo debug shake menu). Rejects with `UNIMPLEMENTED`. */
  isShakeMenuEnabled(): Promise<ShakeMenuEnabled>;
  /** Not implemented by Airlock (Capgo debug shake menu). Rejects with `UNIMPLEMENTED`. */
  setShakeChannelSelector(options: SetShakeChannelSelectorOptions): Promise<void>;
  /** Not implemented by Airlock (Capgo debug shake menu). Rejects with `UNIMPLEMENTED`. */
  isShakeChannelSelectorEnabled(): Promise<ShakeChannelSelectorEnabled>;
  /** Not implemented by Airlock (native store updates are out of scope). Rejects with `UNIMPLEMENTED`. */
  getAppUpdateInfo(options?: GetAppUpdateInfoOptions): Promise<AppUpdateInfo>;
  /** Not implemented by Airlock (native store updates are out of scope). Rejects with `UNIMPLEMENTED`. */
  openAppStore(options?: OpenAppStoreOptions): Promise<void>;
  /** Not implemented by Airlock (native store updates are out of scope). Rejects with `UNIMPLEMENTED`. */
  performImmediateUpdate(): Promise<AppUpdateResult>;
  /** Not implemented by Airlock (native store updates are out of scope). Rejects with `UNIMPLEMENTED`. */
  startFlexibleUpdate(): Promise<AppUpdateResult>;
  /** Not implemented by Airlock (native store updates are out of scope). Rejects with `UNIMPLEMENTED`. */
  completeFlexibleUpdate(): Promise<void>;
}
