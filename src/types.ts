/**
 * Data shapes of the live-update API: bundles, offers, delay conditions, channels, and the options and results
 * of every method Airlock implements.
 *
 * Invariant: every shape keeps the JSON field names and meanings of `@capgo/capacitor-updater`, so code
 * written against Capgo's types compiles unchanged; Airlock additions are optional fields or new types, each
 * marked "Airlock" in its comment.
 *
 * @module
 */

/**
 * Lifecycle state of a bundle on the device.
 *
 * - `downloading`: being fetched and unpacked; not usable yet.
 * - `pending`: complete and verified on disk, never confirmed by `notifyAppReady()`.
 * - `success`: booted and confirmed by `notifyAppReady()` at least once.
 * - `error`: failed to boot (no `notifyAppReady()` in time) or was rejected; never selected again.
 * - `deleted`: removed from disk; only its record remains.
 * - `deleting`: kept for compatibility with Capgo's type. Airlock deletes in one step and never reports it.
 */
export type BundleStatus = 'success' | 'error' | 'pending' | 'downloading' | 'deleted' | 'deleting';

/** One web bundle known to the device. The bundle shipped inside the app has `id: "builtin"`. */
export interface BundleInfo {
  /** Opaque id chosen by the device (`"builtin"` for the bundle shipped in the app). */
  id: string;
  /** Version name the bundle was published as (for `builtin`: the native version name or the `version` config). */
  version: string;
  /** ISO-8601 time the download finished (`1970-01-01T00:00:00.000Z` for `builtin`). */
  downloaded: string;
  /** SHA-256 (hex) of the bundle as downloaded; empty for `builtin`. */
  checksum: string;
  /** Lifecycle state, see {@link BundleStatus}. */
  status: BundleStatus;
  /** Release-notes link the publisher attached, when there is one. */
  link?: string;
  /** Publisher's comment about the release, when there is one. */
  comment?: string;
}

/** Names one bundle. */
export interface BundleId {
  /** The {@link BundleInfo.id} of the bundle. */
  id: string;
}

/** One file of a per-file ("delta") bundle as an update server describes it. */
export interface ManifestEntry {
  /** Path of the file inside the bundle. */
  file_name: string | null;
  /** Hash of the file's content, used to find a copy already on the device. */
  file_hash: string | null;
  /** Where to fetch the file when no local copy matches. */
  download_url: string | null;
}

/** Options of `download()`. */
export interface DownloadOptions {
  /**
   * Where to get the bundle: the `url` of `getLatest()` (with the catalog source, a signed release manifest,
   * which also enables per-file delta downloads), or the URL of a bundle zip (refused when `trustedKeys` is set:
   * such an app only installs signed releases).
   */
  url: string;
  /** Version name to record for the bundle. */
  version: string;
  /**
   * Capgo's RSA session key of an encrypted bundle. Not supported: a non-empty value rejects the download with
   * `unsupported_encryption` (Airlock encrypts with `airlock release --encrypt` and the `encryptionKey` config).
   */
  sessionKey?: string;
  /** Expected SHA-256 (64 hex digits) of the zip; the download is rejected when the bundle does not match. */
  checksum?: string;
  /**
   * Capgo's per-file manifest. Accepted for compatibility but not used: the bundle comes from `url` (Airlock's
   * signed release manifests carry their own file list for delta downloads).
   */
  manifest?: ManifestEntry[];
}

/** Options of `list()`. */
export interface ListOptions {
  /**
   * Capgo reads its metadata store instead of scanning folders when true. Airlock always answers from its
   * transactional store, so both values give the same list.
   */
  raw?: boolean;
}

/** Result of `list()`. */
export interface BundleListResult {
  /** Every bundle the device knows, `builtin` excluded. */
  bundles: BundleInfo[];
}

/** Options of `reset()`. */
export interface ResetOptions {
  /** Go back to the last bundle that reached `notifyAppReady()` instead of `builtin`. Default false. */
  toLastSuccessful?: boolean;
  /**
   * Capgo: apply the queued `next` bundle instead. Accepted for compatibility; Airlock ignores it (call
   * `reload()` to apply a queued bundle).
   */
  usePendingBundle?: boolean;
}

/** Result of `current()`. */
export interface CurrentBundleResult {
  /** The bundle the WebView is serving. */
  bundle: BundleInfo;
  /** Version of the bundle shipped in the app (the native version name or the `version` config). */
  native: string;
}

/** Result of `notifyAppReady()`. */
export interface AppReadyResult {
  /** The bundle that was confirmed (or the current one, when the call came from a stale page). */
  bundle: BundleInfo;
}

/**
 * Options of `notifyAppReady()` (Airlock).
 *
 * Apps never pass these: the package's `CapacitorUpdater` object reads the per-load token the native shell put
 * in `window.__airlock.token` and sends it. When no token is sent, the native side uses the token of the page
 * load it started last, which is what Capgo's argument-less call means.
 */
export interface NotifyAppReadyOptions {
  /** The per-load ready token the native shell injected into this page. */
  token?: string;
}

/** When a condition of `setMultiDelay()` is met. */
export type DelayUntilNext = 'background' | 'kill' | 'nativeVersion' | 'date';

/** One condition that must be met before a queued bundle is applied. */
export interface DelayCondition {
  /**
   * - `background`: the app spent at least `value` milliseconds (default 0) in the background.
   * - `kill`: the app process was restarted.
   * - `date`: the time `value` (ISO-8601) has passed.
   * - `nativeVersion`: the native app version is at least `value`.
   */
  kind: DelayUntilNext;
  /** The condition's parameter, see {@link DelayCondition.kind}. */
  value?: string;
}

/** Options of `setMultiDelay()`. */
export interface MultiDelayConditions {
  /** All of them must be met before the queued bundle is applied; each is dropped once met. */
  delayConditions: DelayCondition[];
}

/** How an update check ended, when it did not offer a bundle. */
export type UpdateResponseKind = 'up_to_date' | 'blocked' | 'failed';

/** Options of `getLatest()`. */
export interface GetLatestOptions {
  /** Channel to ask instead of the device's own. */
  channel?: string;
  /** Capgo preview sessions only. Airlock ignores it (the app id comes from the configuration). */
  appId?: string;
  /** Capgo: ask the server for the download size. Airlock ignores it (`downloadSize` is never set). */
  includeBundleSize?: boolean;
}

/** Result of `getMissingBundleFiles()` (a Capgo method Airlock does not implement). */
export interface GetMissingBundleFilesResult {
  missing: ManifestEntry[];
  total: number;
  missingCount: number;
  reusableCount: number;
}

/** One file of `getBundleDownloadSize()` (a Capgo method Airlock does not implement). */
export interface BundleFileSize {
  file_name: string | null;
  file_hash: string | null;
  download_url: string | null;
  size?: number;
  error?: string;
}

/** Result of `getBundleDownloadSize()` (a Capgo method Airlock does not implement). */
export interface GetBundleDownloadSizeResult {
  totalSize: number;
  knownFiles: number;
  unknownFiles: number;
  files: BundleFileSize[];
}

/** What the update source offers this device right now (result of `getLatest()`). */
export interface LatestVersion {
  /** Version on offer (the current version when there is nothing new). */
  version: string;
  /** Checksum the offered bundle must have. */
  checksum?: string;
  /** The release needs a newer native app; it will not be installed over the air. */
  breaking?: boolean;
  /** @deprecated Capgo's old name for `breaking`. */
  major?: boolean;
  /** Human-readable note from the source (why nothing is offered, for example). */
  message?: string;
  /** Session key of an encrypted bundle (Capgo protocol). */
  sessionKey?: string;
  /** Machine-readable reason the source gave for not offering a bundle. */
  error?: string;
  /** How the check ended when it did not offer a bundle. */
  kind?: UpdateResponseKind;
  /** HTTP status of the check when the source answered with an error. */
  statusCode?: number;
  /** Version the device runs now, when the source reports it. */
  old?: string;
  /** Where to download the offered bundle (pass it to `download()`). */
  url?: string;
  /** Per-file manifest of the offered bundle (Capgo protocol). */
  manifest?: ManifestEntry[];
  /** Capgo only; never set by Airlock. */
  missing?: GetMissingBundleFilesResult;
  /** Capgo only; never set by Airlock. */
  downloadSize?: GetBundleDownloadSizeResult;
  /** Release-notes link of the offered release. */
  link?: string;
  /** Publisher's comment on the offered release. */
  comment?: string;
}

/** Options of `setChannel()`. */
export interface SetChannelOptions {
  /** Channel to assign this device to (case sensitive). */
  channel: string;
  /** Run an update check right after the change. Default false. */
  triggerAutoUpdate?: boolean;
}

/** Options of `unsetChannel()`. */
export interface UnsetChannelOptions {
  /** Run an update check right after going back to the default channel. Default false. */
  triggerAutoUpdate?: boolean;
}

/** Result of `setChannel()`. */
export interface ChannelRes {
  /** `"set"` when the device now reads the channel. */
  status: string;
  /** Machine-readable reason for a refusal (`disabled_by_config`, for example). */
  error?: string;
  /** Human-readable detail. */
  message?: string;
}

/** Result of `getChannel()`. */
export interface GetChannelRes {
  /** Channel this device reads. */
  channel?: string;
  /** Machine-readable reason, when the channel could not be determined. */
  error?: string;
  /** Human-readable detail. */
  message?: string;
  /** `"self_assigned"` after `setChannel()`, `"default"` otherwise. */
  status?: string;
  /** Whether `setChannel()` is allowed by the configuration. */
  allowSet?: boolean;
}

/** One channel a device may assign itself to. */
export interface ChannelInfo {
  /**
   * Channel id. Airlock sends a string: the channel name with the catalog source, the server's id with the
   * Capgo protocol. Capgo's type says `number`; `string | number` keeps numeric comparisons compiling.
   */
  id: string | number;
  /** Channel name, the value to pass to `setChannel()`. */
  name: string;
  /** Whether the channel is public. */
  public: boolean;
  /** Whether devices may assign themselves to it (always true in this list). */
  allow_self_set: boolean;
}

/** Result of `listChannels()`. */
export interface ListChannelsResult {
  /** The channels this device may assign itself to. */
  channels: ChannelInfo[];
}

/** Options of `setCustomId()`. */
export interface SetCustomIdOptions {
  /** Custom id reported with update checks and stats; `""` clears it. */
  customId: string;
}

/** Result of `getBuiltinVersion()`. */
export interface BuiltinVersion {
  /** Version of the bundle shipped in the app. */
  version: string;
}

/** Result of `getDeviceId()`. */
export interface DeviceId {
  /** Random lowercase UUID, created once per installation. */
  deviceId: string;
}

/** Result of `getPluginVersion()`. */
export interface PluginVersion {
  /** Version of the native Airlock agent. */
  version: string;
}

/** Result of `isAutoUpdateEnabled()`. */
export interface AutoUpdateEnabled {
  /** Whether the native side checks and installs updates by itself. */
  enabled: boolean;
}

/** Result of `isAutoUpdateAvailable()` (a Capgo method Airlock does not implement). */
export interface AutoUpdateAvailable {
  available: boolean;
}

/** Result of `triggerUpdateCheck()`. */
export interface TriggerUpdateCheckResult {
  /**
   * - `queued`: a check started in the background; its outcome arrives as events.
   * - `already_running`: a check was already in progress.
   * - `unavailable`: automatic updates are off or cannot run.
   */
  status: 'queued' | 'already_running' | 'unavailable';
  /** True when a check was started by this call. */
  queued: boolean;
}

/** Options of `setAttributes()` (Airlock). */
export interface SetAttributesOptions {
  /**
   * Targeting attributes of this device (string keys and values; at most 64, each key and value at most 256
   * bytes). They replace the previous set; rollout rules of the catalog match on them. They stay on the device.
   */
  attributes: Record<string, string>;
}

/** Result of `getAttributes()` (Airlock). */
export interface AttributesResult {
  /** The attributes last set with `setAttributes()` (empty when none). */
  attributes: Record<string, string>;
}

/** Options of Capgo's `setUpdateUrl()` (not implemented by Airlock). */
export interface UpdateUrl {
  url: string;
}

/** Options of Capgo's `setStatsUrl()` (not implemented by Airlock). */
export interface StatsUrl {
  url: string;
}

/** Options of Capgo's `setChannelUrl()` (not implemented by Airlock). */
export interface ChannelUrl {
  url: string;
}

/** Options of Capgo's `getMissingBundleFiles()` (not implemented by Airlock). */
export interface GetMissingBundleFilesOptions {
  manifest?: ManifestEntry[];
  version?: string;
  sessionKey?: string;
}

/** Options of Capgo's `getBundleDownloadSize()` (not implemented by Airlock). */
export interface GetBundleDownloadSizeOptions {
  manifest?: ManifestEntry[];
  version?: string;
}

/** Result of Capgo's `getAppId()` (not implemented by Airlock). */
export interface GetAppIdRes {
  appId: string;
}

/** Options of Capgo's `setAppId()` (not implemented by Airlock). */
export interface SetAppIdOptions {
  appId: string;
}
