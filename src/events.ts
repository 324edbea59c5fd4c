/**
 * Event payloads delivered to `CapacitorUpdater.addListener(...)`.
 *
 * Invariant: names and payload fields are Capgo's; Airlock only adds optional fields (marked "Airlock"), so a
 * listener written for Capgo's payload type accepts Airlock's payload.
 *
 * @module
 */

import type { BundleInfo, UpdateResponseKind } from './types.js';

/** `download`: progress of a download, by bytes. */
export interface DownloadEvent {
  /** 0 to 100. */
  percent: number;
  /** The bundle being downloaded (status `downloading`). */
  bundle: BundleInfo;
}

/** `downloadComplete`: a download finished and the bundle was verified and unpacked. */
export interface DownloadCompleteEvent {
  bundle: BundleInfo;
}

/** `downloadFailed`: a download, verification or unpack failed; nothing was activated. */
export interface DownloadFailedEvent {
  /** Version that failed. */
  version: string;
  /** Airlock: what went wrong and what to do about it. */
  reason?: string;
}

/** `updateAvailable`: a new bundle is ready on the device (downloaded automatically or by `download()`). */
export interface UpdateAvailableEvent {
  bundle: BundleInfo;
}

/** `noNeedUpdate`: a check finished without anything to install. */
export interface NoNeedEvent {
  /** The bundle the device keeps running. */
  bundle: BundleInfo;
}

/** `updateCheckResult`: how a check that offered nothing ended (sent before `noNeedUpdate`/`downloadFailed`). */
export interface UpdateCheckResultEvent {
  kind: UpdateResponseKind;
  /** Machine-readable reason. */
  error?: string;
  /** Human-readable detail. */
  message?: string;
  /** HTTP status, when the source answered with an error. */
  statusCode?: number;
  /** Version the source named, when it named one. */
  version?: string;
  /** The bundle the device keeps running. */
  bundle: BundleInfo;
}

/** `majorAvailable` (deprecated name) and `breakingAvailable`: a release needs a newer native app. */
export interface MajorAvailableEvent {
  /** Version of the release that cannot be installed over the air. */
  version: string;
}

/** `breakingAvailable`: a release needs a newer native app. */
export type BreakingAvailableEvent = MajorAvailableEvent;

/** `updateFailed`: a bundle did not call `notifyAppReady()` in time and was rolled back. */
export interface UpdateFailedEvent {
  /** The bundle that failed. */
  bundle: BundleInfo;
}

/** `set`: a bundle was activated. Kept by the native side until a listener receives it (it survives the reload). */
export interface SetEvent {
  bundle: BundleInfo;
}

/** `setNext`: a bundle was queued for the next reload, background or restart. */
export interface SetNextEvent {
  bundle: BundleInfo;
}

/** `appReady`: the page confirmed its bundle. Kept by the native side until a listener receives it. */
export interface AppReadyEvent {
  bundle: BundleInfo;
  /** Human-readable description of what happened. */
  status: string;
}

/** `channelPrivate`: `setChannel()` was refused. */
export interface ChannelPrivateEvent {
  /** The channel that was asked for. */
  channel: string;
  /** Why it was refused. */
  message: string;
}
