/**
 * The browser implementation (`ionic serve`, a plain web build): there is no native agent, so nothing is ever
 * downloaded or activated and the page always runs its own bundle, reported as `builtin`.
 *
 * Invariant: every method Airlock implements resolves with an inert answer (the values are listed in
 * docs/js-api.md), so app code written for the native app runs unchanged in a browser and never leaves a
 * promise pending; `notifyAppReady()` never rejects; every Capgo method Airlock does not implement rejects with
 * Capacitor's `UNIMPLEMENTED` error, exactly as in the native shells.
 *
 * @module
 */

import { WebPlugin } from '@capacitor/core';

import type {
  AppUpdateInfo,
  AppUpdateResult,
  DeletePreviewResult,
  PreviewListResult,
  PreviewUpdateResult,
  ShakeChannelSelectorEnabled,
  ShakeMenuEnabled,
} from './capgo-only.js';
import type { CapacitorUpdaterPlugin } from './definitions.js';
import type { UpdateFailedEvent } from './events.js';
import type { UnimplementedMethod } from './methods.js';
import type {
  AppReadyResult,
  AttributesResult,
  AutoUpdateAvailable,
  AutoUpdateEnabled,
  BuiltinVersion,
  BundleInfo,
  BundleListResult,
  ChannelRes,
  CurrentBundleResult,
  DeviceId,
  GetAppIdRes,
  GetBundleDownloadSizeResult,
  GetChannelRes,
  GetMissingBundleFilesResult,
  LatestVersion,
  ListChannelsResult,
  PluginVersion,
  SetAttributesOptions,
  TriggerUpdateCheckResult,
} from './types.js';

/** Version reported for the page's own bundle on the web, where there is no native version. */
export const WEB_BUILTIN_VERSION = '0.0.0';

/** The page's own bundle as the web implementation reports it. */
export function webBuiltinBundle(): BundleInfo {
  return {
    id: 'builtin',
    version: WEB_BUILTIN_VERSION,
    downloaded: '1970-01-01T00:00:00.000Z',
    checksum: '',
    status: 'success',
  };
}

/** Web implementation of `CapacitorUpdater`. */
export class CapacitorUpdaterWeb extends WebPlugin implements CapacitorUpdaterPlugin {
  private attributes: Record<string, string> = {};
  private readonly warned = new Set<string>();

  /** Says once per method that the web build has no live updates. */
  private inert(method: string): void {
    if (!this.warned.has(method)) {
      this.warned.add(method);
      console.warn(`CapacitorUpdater.${method}(): live updates run only in the native app; the web answers inertly`);
    }
  }

  /** The rejection of every Capgo method Airlock does not implement. */
  private notInAirlock(method: UnimplementedMethod): Promise<never> {
    return Promise.reject(
      this.unimplemented(
        `CapacitorUpdater.${method}() is a @capgo/capacitor-updater feature that Airlock does not implement ` +
          '(see docs/js-api.md for the list and the alternatives)',
      ),
    );
  }

  async notifyAppReady(): Promise<AppReadyResult> {
    return { bundle: webBuiltinBundle() };
  }

  async download(): Promise<BundleInfo> {
    this.inert('download');
    return webBuiltinBundle();
  }

  async next(): Promise<BundleInfo> {
    this.inert('next');
    return webBuiltinBundle();
  }

  async set(): Promise<void> {
    this.inert('set');
  }

  async reload(): Promise<void> {
    this.inert('reload');
  }

  async reset(): Promise<void> {
    this.inert('reset');
  }

  async current(): Promise<CurrentBundleResult> {
    return { bundle: webBuiltinBundle(), native: WEB_BUILTIN_VERSION };
  }

  async list(): Promise<BundleListResult> {
    return { bundles: [] };
  }

  async delete(): Promise<void> {
    this.inert('delete');
  }

  async getNextBundle(): Promise<BundleInfo | null> {
    return null;
  }

  async getFailedUpdate(): Promise<UpdateFailedEvent | null> {
    return null;
  }

  async setMultiDelay(): Promise<void> {
    this.inert('setMultiDelay');
  }

  async cancelDelay(): Promise<void> {
    this.inert('cancelDelay');
  }

  async getLatest(): Promise<LatestVersion> {
    this.inert('getLatest');
    return { version: WEB_BUILTIN_VERSION, kind: 'up_to_date', message: 'live updates run only in the native app' };
  }

  async triggerUpdateCheck(): Promise<TriggerUpdateCheckResult> {
    return { status: 'unavailable', queued: false };
  }

  async setChannel(): Promise<ChannelRes> {
    this.inert('setChannel');
    return { status: 'error', error: 'unavailable', message: 'channels exist only in the native app' };
  }

  async unsetChannel(): Promise<void> {
    this.inert('unsetChannel');
  }

  async getChannel(): Promise<GetChannelRes> {
    return { status: 'error', error: 'unavailable', message: 'channels exist only in the native app' };
  }

  async listChannels(): Promise<ListChannelsResult> {
    return { channels: [] };
  }

  async setCustomId(): Promise<void> {
    this.inert('setCustomId');
  }

  async getDeviceId(): Promise<DeviceId> {
    return { deviceId: 'web' };
  }

  async getBuiltinVersion(): Promise<BuiltinVersion> {
    return { version: WEB_BUILTIN_VERSION };
  }

  async getPluginVersion(): Promise<PluginVersion> {
    return { version: 'web' };
  }

  async isAutoUpdateEnabled(): Promise<AutoUpdateEnabled> {
    return { enabled: false };
  }

  /** Kept in memory for this page only, so app code that reads back what it set behaves as in the native app. */
  async setAttributes(options: SetAttributesOptions): Promise<void> {
    this.attributes = { ...options.attributes };
  }

  async getAttributes(): Promise<AttributesResult> {
    return { attributes: { ...this.attributes } };
  }

  setUpdateUrl(): Promise<void> {
    return this.notInAirlock('setUpdateUrl');
  }
  setStatsUrl(): Promise<void> {
    return this.notInAirlock('setStatsUrl');
  }
  setChannelUrl(): Promise<void> {
    return this.notInAirlock('setChannelUrl');
  }
  getAppId(): Promise<GetAppIdRes> {
    return this.notInAirlock('getAppId');
  }
  setAppId(): Promise<void> {
    return this.notInAirlock('setAppId');
  }
  setBundleError(): Promise<BundleInfo> {
    return this.notInAirlock('setBundleError');
  }
  getMissingBundleFiles(): Promise<GetMissingBundleFilesResult> {
    return this.notInAirlock('getMissingBundleFiles');
  }
  getBundleDownloadSize(): Promise<GetBundleDownloadSizeResult> {
    return this.notInAirlock('getBundleDownloadSize');
  }
  isAutoUpdateAvailable(): Promise<AutoUpdateAvailable> {
    return this.notInAirlock('isAutoUpdateAvailable');
  }
  startPreviewSession(): Promise<void> {
    return this.notInAirlock('startPreviewSession');
  }
  listPreviews(): Promise<PreviewListResult> {
    return this.notInAirlock('listPreviews');
  }
  setPreview(): Promise<void> {
    return this.notInAirlock('setPreview');
  }
  resetPreview(): Promise<void> {
    return this.notInAirlock('resetPreview');
  }
  deletePreview(): Promise<DeletePreviewResult> {
    return this.notInAirlock('deletePreview');
  }
  checkPreviewUpdate(): Promise<PreviewUpdateResult> {
    return this.notInAirlock('checkPreviewUpdate');
  }
  updatePreview(): Promise<PreviewUpdateResult> {
    return this.notInAirlock('updatePreview');
  }
  setShakeMenu(): Promise<void> {
    return this.notInAirlock('setShakeMenu');
  }
  isShakeMenuEnabled(): Promise<ShakeMenuEnabled> {
    return this.notInAirlock('isShakeMenuEnabled');
  }
  setShakeChannelSelector(): Promise<void> {
    return this.notInAirlock('setShakeChannelSelector');
  }
  isShakeChannelSelectorEnabled(): Promise<ShakeChannelSelectorEnabled> {
    return this.notInAirlock('isShakeChannelSelectorEnabled');
  }
  getAppUpdateInfo(): Promise<AppUpdateInfo> {
    return this.notInAirlock('getAppUpdateInfo');
  }
  openAppStore(): Promise<void> {
    return this.notInAirlock('openAppStore');
  }
  performImmediateUpdate(): Promise<AppUpdateResult> {
    return this.notInAirlock('performImmediateUpdate');
  }
  startFlexibleUpdate(): Promise<AppUpdateResult> {
    return this.notInAirlock('startFlexibleUpdate');
  }
  completeFlexibleUpdate(): Promise<void> {
    return this.notInAirlock('completeFlexibleUpdate');
  }
}
