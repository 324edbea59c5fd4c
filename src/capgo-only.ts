/**
 * Shapes of the Capgo features that Airlock does not implement: preview sessions, the shake menu and the
 * app-store helpers.
 *
 * Invariant: these exist only so that code written against `@capgo/capacitor-updater` still compiles; every
 * method that takes or returns them rejects with Capacitor's `UNIMPLEMENTED` error, and the enums keep Capgo's
 * member names and numeric values because app code may read them at run time.
 *
 * @module
 */

import type { BundleInfo } from './types.js';

/** Options of Capgo's `startPreviewSession()`. */
export interface StartPreviewSessionOptions {
  appId?: string;
  payloadUrl?: string;
  name?: string;
  source?: string;
}

/** One preview of Capgo's preview sessions. */
export interface PreviewInfo {
  id: string;
  bundle: BundleInfo;
  name?: string;
  source?: string;
  appId?: string;
  payloadUrl?: string;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string;
  isActive: boolean;
}

/** Result of Capgo's `listPreviews()`. */
export interface PreviewListResult {
  previews: PreviewInfo[];
  current?: PreviewInfo;
  currentBundle: BundleInfo;
  liveBundle?: BundleInfo;
}

/** Result of Capgo's `deletePreview()`. */
export interface DeletePreviewResult {
  removed: boolean;
  deleted: boolean;
}

/** Result of Capgo's `checkPreviewUpdate()` and `updatePreview()`. */
export interface PreviewUpdateResult {
  preview: PreviewInfo;
  latestVersion?: string;
  upToDate: boolean;
  updated: boolean;
  bundle?: BundleInfo;
}

/** Gesture that opens Capgo's debug menu. */
export type ShakeMenuGesture = 'shake' | 'threeFingerPinch';

/** Options of Capgo's `setShakeMenu()`. */
export interface SetShakeMenuOptions {
  enabled: boolean;
}

/** Result of Capgo's `isShakeMenuEnabled()`. */
export interface ShakeMenuEnabled {
  enabled: boolean;
  gesture?: ShakeMenuGesture;
}

/** Options of Capgo's `setShakeChannelSelector()`. */
export interface SetShakeChannelSelectorOptions {
  enabled: boolean;
}

/** Result of Capgo's `isShakeChannelSelectorEnabled()`. */
export interface ShakeChannelSelectorEnabled {
  enabled: boolean;
}

/** Store availability of a native update (Capgo's app-store helpers). */
export enum AppUpdateAvailability {
  UNKNOWN = 0,
  UPDATE_NOT_AVAILABLE = 1,
  UPDATE_AVAILABLE = 2,
  UPDATE_IN_PROGRESS = 3,
}

/** Progress of a flexible (background) store update on Android (Capgo's app-store helpers). */
export enum FlexibleUpdateInstallStatus {
  UNKNOWN = 0,
  PENDING = 1,
  DOWNLOADING = 2,
  INSTALLING = 3,
  INSTALLED = 4,
  FAILED = 5,
  CANCELED = 6,
  DOWNLOADED = 11,
}

/** Outcome of a store update flow (Capgo's app-store helpers). */
export enum AppUpdateResultCode {
  OK = 0,
  CANCELED = 1,
  FAILED = 2,
  NOT_AVAILABLE = 3,
  NOT_ALLOWED = 4,
  INFO_MISSING = 5,
}

/** Options of Capgo's `getAppUpdateInfo()`. */
export interface GetAppUpdateInfoOptions {
  country?: string;
}

/** Result of Capgo's `getAppUpdateInfo()`. */
export interface AppUpdateInfo {
  currentVersionName: string;
  availableVersionName?: string;
  currentVersionCode: string;
  availableVersionCode?: string;
  availableVersionReleaseDate?: string;
  updateAvailability: AppUpdateAvailability;
  updatePriority?: number;
  immediateUpdateAllowed?: boolean;
  flexibleUpdateAllowed?: boolean;
  clientVersionStalenessDays?: number;
  installStatus?: FlexibleUpdateInstallStatus;
  minimumOsVersion?: string;
}

/** Options of Capgo's `openAppStore()`. */
export interface OpenAppStoreOptions {
  packageName?: string;
  appId?: string;
}

/** Payload of Capgo's `onFlexibleUpdateStateChange` event (never emitted by Airlock). */
export interface FlexibleUpdateState {
  installStatus: FlexibleUpdateInstallStatus;
  bytesDownloaded?: number;
  totalBytesToDownload?: number;
}

/** Result of Capgo's `performImmediateUpdate()` and `startFlexibleUpdate()`. */
export interface AppUpdateResult {
  code: AppUpdateResultCode;
}
