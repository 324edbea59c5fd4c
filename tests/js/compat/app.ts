/**
 * App code written against `@capgo/capacitor-updater`, exactly as a Capgo user writes it. It is compiled twice
 * without changes: once against Capgo's own types (tsconfig.capgo.json, proving it is valid Capgo code) and
 * once with the import pointed at Airlock's published types (tsconfig.airlock.json, proving the switch is an
 * import change). It uses every method, option, result field and event of the parity table (DESIGN §8).
 */

import {
  AppUpdateAvailability,
  CapacitorUpdater,
  type AppReadyEvent,
  type BundleInfo,
  type BundleStatus,
  type ChannelInfo,
  type CurrentBundleResult,
  type DelayCondition,
  type DownloadEvent,
  type DownloadOptions,
  type LatestVersion,
  type ManifestEntry,
  type UpdateCheckResultEvent,
  type UpdateFailedEvent,
} from '@capgo/capacitor-updater';

function describe(bundle: BundleInfo): string {
  const status: BundleStatus = bundle.status;
  const when = new Date(bundle.downloaded).toISOString();
  return `${bundle.id} ${bundle.version} ${status} ${bundle.checksum} ${when}`;
}

export async function onLaunch(): Promise<void> {
  const ready = await CapacitorUpdater.notifyAppReady();
  console.log('ready', describe(ready.bundle));

  const failed: UpdateFailedEvent | null = await CapacitorUpdater.getFailedUpdate();
  if (failed) {
    console.warn('rolled back', failed.bundle.version);
  }
  const current: CurrentBundleResult = await CapacitorUpdater.current();
  console.log('serving', current.bundle.id, 'builtin', current.native);
  const { version: builtin } = await CapacitorUpdater.getBuiltinVersion();
  const { version: plugin } = await CapacitorUpdater.getPluginVersion();
  const { deviceId } = await CapacitorUpdater.getDeviceId();
  const { enabled } = await CapacitorUpdater.isAutoUpdateEnabled();
  console.log(builtin, plugin, deviceId.toLowerCase(), enabled ? 'auto' : 'manual');
}

export async function manualUpdate(channel?: string): Promise<BundleInfo | undefined> {
  const latest: LatestVersion = channel
    ? await CapacitorUpdater.getLatest({ channel })
    : await CapacitorUpdater.getLatest();
  if (latest.kind === 'up_to_date' || latest.kind === 'blocked' || latest.breaking || latest.major) {
    console.log(latest.message, latest.error, latest.statusCode, latest.old, latest.link, latest.comment);
    return undefined;
  }
  if (!latest.url) {
    return undefined;
  }
  const manifest: ManifestEntry[] | undefined = latest.manifest;
  const options: DownloadOptions = {
    url: latest.url,
    version: latest.version,
    checksum: latest.checksum,
    sessionKey: latest.sessionKey,
    manifest,
  };
  const bundle = await CapacitorUpdater.download(options);
  const queued: BundleInfo = await CapacitorUpdater.next({ id: bundle.id });
  const conditions: DelayCondition[] = [
    { kind: 'background', value: '300000' },
    { kind: 'kill' },
    { kind: 'date', value: '2030-01-01T00:00:00Z' },
    { kind: 'nativeVersion', value: '2.0.0' },
  ];
  await CapacitorUpdater.setMultiDelay({ delayConditions: conditions });
  const next = await CapacitorUpdater.getNextBundle();
  if (next?.id !== queued.id) {
    await CapacitorUpdater.cancelDelay();
  }
  return queued;
}

export async function applyNow(bundle: BundleInfo): Promise<void> {
  await CapacitorUpdater.set({ id: bundle.id });
  await CapacitorUpdater.set(bundle);
  await CapacitorUpdater.reload();
}

export async function housekeeping(): Promise<number> {
  const { bundles } = await CapacitorUpdater.list();
  const raw = await CapacitorUpdater.list({ raw: true });
  for (const b of bundles) {
    if (b.status === 'error' || b.status === 'deleted' || b.status === 'deleting') {
      await CapacitorUpdater.delete({ id: b.id });
    }
  }
  await CapacitorUpdater.reset();
  await CapacitorUpdater.reset({ toLastSuccessful: true });
  await CapacitorUpdater.reset({ toLastSuccessful: false, usePendingBundle: false });
  return raw.bundles.length;
}

export async function channels(): Promise<string[]> {
  const set = await CapacitorUpdater.setChannel({ channel: 'beta', triggerAutoUpdate: true });
  if (set.status !== 'ok' && set.error === 'disabled_by_config') {
    console.warn(set.message);
  }
  const got = await CapacitorUpdater.getChannel();
  console.log(got.channel ?? 'default', got.status, got.allowSet, got.error, got.message);
  await CapacitorUpdater.unsetChannel({});
  await CapacitorUpdater.unsetChannel({ triggerAutoUpdate: false });
  await CapacitorUpdater.setCustomId({ customId: 'user-42' });
  const check = await CapacitorUpdater.triggerUpdateCheck();
  if (check.queued || check.status === 'already_running' || check.status === 'unavailable') {
    console.log('check', check.status);
  }
  const { channels: list } = await CapacitorUpdater.listChannels();
  return list
    .filter((c: ChannelInfo) => c.allow_self_set && c.public && c.id !== 0)
    .map((c) => c.name);
}

export async function listen(): Promise<void> {
  const handles = [
    await CapacitorUpdater.addListener('download', (e: DownloadEvent) => console.log(e.percent, e.bundle.id)),
    await CapacitorUpdater.addListener('downloadComplete', (e) => console.log(describe(e.bundle))),
    await CapacitorUpdater.addListener('downloadFailed', (e) => console.log(e.version)),
    await CapacitorUpdater.addListener('updateAvailable', (e) => console.log(describe(e.bundle))),
    await CapacitorUpdater.addListener('noNeedUpdate', (e) => console.log(describe(e.bundle))),
    await CapacitorUpdater.addListener('breakingAvailable', (e) => console.log(e.version)),
    await CapacitorUpdater.addListener('majorAvailable', (e) => console.log(e.version)),
    await CapacitorUpdater.addListener('updateFailed', (e) => console.log(describe(e.bundle))),
    await CapacitorUpdater.addListener('set', (e) => console.log(describe(e.bundle))),
    await CapacitorUpdater.addListener('setNext', (e) => console.log(describe(e.bundle))),
    await CapacitorUpdater.addListener('appReloaded', () => console.log('reloaded')),
    await CapacitorUpdater.addListener('appReady', (e: AppReadyEvent) => console.log(e.status, e.bundle.id)),
    await CapacitorUpdater.addListener('channelPrivate', (e) => console.log(e.channel, e.message)),
    await CapacitorUpdater.addListener('updateCheckResult', (e: UpdateCheckResultEvent) => {
      console.log(e.kind, e.error, e.message, e.statusCode, e.version, e.bundle.id);
    }),
  ];
  for (const h of handles) {
    await h.remove();
  }
  await CapacitorUpdater.removeAllListeners();
}

/** Capgo features outside the parity table still compile (they reject at run time with Airlock). */
export async function capgoExtras(): Promise<boolean> {
  try {
    const info = await CapacitorUpdater.getAppUpdateInfo();
    await CapacitorUpdater.setShakeMenu({ enabled: false });
    await CapacitorUpdater.startPreviewSession();
    return info.updateAvailability === AppUpdateAvailability.UPDATE_AVAILABLE;
  } catch {
    return false;
  }
}
