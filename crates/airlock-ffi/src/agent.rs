//! The exported `Agent` object. Invariant: every method is a one-line delegation to `airlock_core::Agent` plus
//! type conversions; no logic lives here, so the core's guarantees (atomic activation, rollback, durable events)
//! hold unchanged for every language.

use std::collections::HashMap;
use std::sync::Arc;

use airlock_core::{Config, SystemClock};

use crate::callbacks::{CancelToken, EventListener, ListenerSink};
use crate::error::{Result, UpdateError};
use crate::types::{
    AutoOutcome, BundleInfo, ChannelEntry, ChannelInfo, CurrentBundle, DelayCondition, DeviceFacts, DownloadRequest,
    FlushResult, LatestVersion, Launch, ReadyResult, Trigger, sorted,
};

/// The live-update agent. Create one per app process and share it; it is thread-safe.
///
/// Every call is synchronous and may do disk or network work: call it off the main / UI thread. Events go to
/// the `EventListener` given at creation, on the thread doing the work. Release it with `close()` (Kotlin) /
/// by dropping the last reference (Swift, Python): that closes the state database.
#[derive(uniffi::Object)]
pub struct Agent {
    inner: airlock_core::Agent,
}

#[uniffi::export]
impl Agent {
    /// Opens the agent on `device.data_dir`: `plugin_config_json` is `plugins.CapacitorUpdater` from
    /// `capacitor.config` as JSON (Capgo's keys plus Airlock's, DESIGN §9). A wrong key type is `Config`, naming
    /// the key. Also installs the logger (system log on a device, the `LogSink` once one is set).
    #[uniffi::constructor]
    pub fn new(plugin_config_json: String, device: DeviceFacts, listener: Arc<dyn EventListener>) -> Result<Arc<Self>> {
        crate::logging::install();
        let plugin = serde_json::from_str(&plugin_config_json).map_err(|e| UpdateError::Config {
            reason: format!("plugin config (CapacitorUpdater) is not valid JSON: {e}"),
        })?;
        let config = Config::from_parts(&plugin, &device.to_json())?;
        let inner = airlock_core::Agent::open(config, Arc::new(ListenerSink(listener)), Arc::new(SystemClock))?;
        Ok(Arc::new(Agent { inner }))
    }

    /// Call right before pointing the WebView at a bundle: what to load and its ready token. Arm the ready timer
    /// (`app_ready_timeout_ms`) with the token.
    pub fn launch(&self) -> Result<Launch> {
        Ok(self.inner.launch()?.into())
    }

    /// JS `notifyAppReady()`: blesses the bundle of the load that `token` belongs to; stale tokens are ignored.
    pub fn notify_app_ready(&self, token: String) -> Result<ReadyResult> {
        Ok(self.inner.notify_app_ready(&token)?.into())
    }

    /// The ready timer fired for `token`: rolls back now. `Some(launch)` is what to load instead.
    pub fn ready_timeout(&self, token: String) -> Result<Option<Launch>> {
        Ok(self.inner.ready_timeout(&token)?.map(Into::into))
    }

    /// JS `download(...)`: downloads, verifies and unpacks a bundle without activating it. Emits `Download`
    /// progress, then `DownloadComplete` + `UpdateAvailable`, or `DownloadFailed`.
    pub fn download(&self, request: DownloadRequest, cancel: Arc<CancelToken>) -> Result<BundleInfo> {
        Ok(self.inner.download(&request.into(), cancel.core())?.into())
    }

    /// JS `next({id})`: queues a bundle for the next launch / reload.
    pub fn set_next(&self, id: String) -> Result<BundleInfo> {
        Ok(self.inner.set_next(&id)?.into())
    }

    /// JS `set({id})`: makes the bundle current now; the shell loads the returned launch.
    pub fn set_current(&self, id: String) -> Result<Launch> {
        Ok(self.inner.set_current(&id)?.into())
    }

    /// JS `reload()`: applies a queued bundle if any, else reloads the current one.
    pub fn reload(&self) -> Result<Launch> {
        Ok(self.inner.reload()?.into())
    }

    /// JS `reset({toLastSuccessful})`: back to builtin, or to the last bundle that reached ready.
    pub fn reset(&self, to_last_good: bool) -> Result<Launch> {
        Ok(self.inner.reset(to_last_good)?.into())
    }

    /// JS `current()`.
    pub fn current(&self) -> Result<CurrentBundle> {
        Ok(self.inner.current()?.into())
    }

    /// JS `list()`: downloaded bundles still on disk.
    pub fn list(&self) -> Result<Vec<BundleInfo>> {
        Ok(self.inner.list()?.into_iter().map(Into::into).collect())
    }

    /// JS `delete({id})`: refuses the builtin, the current and the queued bundle (`InvalidRequest`).
    pub fn delete(&self, id: String) -> Result<()> {
        Ok(self.inner.delete(&id)?)
    }

    /// JS `getNextBundle()`.
    pub fn next_bundle(&self) -> Result<Option<BundleInfo>> {
        Ok(self.inner.next_bundle()?.map(Into::into))
    }

    /// JS `getFailedUpdate()`: the last rolled-back bundle, cleared once read.
    pub fn take_failed_update(&self) -> Result<Option<BundleInfo>> {
        Ok(self.inner.take_failed_update()?.map(Into::into))
    }

    /// JS `setMultiDelay({delayConditions})`.
    pub fn set_delay_conditions(&self, conditions: Vec<DelayCondition>) -> Result<()> {
        Ok(self.inner.set_delay_conditions(&conditions.into_iter().map(Into::into).collect::<Vec<_>>())?)
    }

    /// JS `cancelDelay()`.
    pub fn cancel_delay(&self) -> Result<()> {
        Ok(self.inner.cancel_delay()?)
    }

    /// JS `getLatest({channel?})`: what the channel offers this device, without downloading.
    pub fn latest(&self, channel: Option<String>, cancel: Arc<CancelToken>) -> Result<LatestVersion> {
        Ok(self.inner.latest(channel.as_deref(), cancel.core())?.into())
    }

    /// JS `setChannel({channel})`: only to channels whose catalog allows self-assignment.
    pub fn set_channel(&self, channel: String, cancel: Arc<CancelToken>) -> Result<ChannelInfo> {
        Ok(self.inner.set_channel(&channel, cancel.core())?.into())
    }

    /// JS `unsetChannel()`: back to `defaultChannel`.
    pub fn unset_channel(&self) -> Result<()> {
        Ok(self.inner.unset_channel()?)
    }

    /// JS `getChannel()`.
    pub fn get_channel(&self) -> Result<ChannelInfo> {
        Ok(self.inner.get_channel()?.into())
    }

    /// JS `listChannels()`: the self-assignable channels of the repo's signed channel index.
    pub fn list_channels(&self, cancel: Arc<CancelToken>) -> Result<Vec<ChannelEntry>> {
        Ok(self.inner.list_channels(cancel.core())?.into_iter().map(Into::into).collect())
    }

    /// JS `setCustomId({customId})`.
    pub fn set_custom_id(&self, custom_id: String) -> Result<()> {
        Ok(self.inner.set_custom_id(&custom_id)?)
    }

    /// JS `getDeviceId()`: a random UUID kept for the life of the install.
    pub fn device_id(&self) -> Result<String> {
        Ok(self.inner.device_id()?)
    }

    /// JS `getBuiltinVersion()`.
    pub fn builtin_version(&self) -> String {
        self.inner.builtin_version()
    }

    /// JS `getPluginVersion()`.
    pub fn plugin_version(&self) -> String {
        crate::plugin_version()
    }

    /// JS `isAutoUpdateEnabled()`.
    pub fn auto_update_enabled(&self) -> bool {
        self.inner.auto_update_enabled()
    }

    /// The automatic pipeline for `trigger` (JS `triggerUpdateCheck()` is `Manual`): check, download, apply as
    /// the mode and the catalog say. `Reload` means: load that launch.
    pub fn check_and_update(&self, trigger: Trigger, cancel: Arc<CancelToken>) -> Result<AutoOutcome> {
        Ok(self.inner.check_and_update(trigger.into(), cancel.core())?.into())
    }

    /// Airlock `setAttributes({attributes})`: replaces the device's targeting attributes.
    pub fn set_attributes(&self, attributes: HashMap<String, String>) -> Result<()> {
        Ok(self.inner.set_attributes(&sorted(attributes))?)
    }

    /// Airlock `getAttributes()`.
    pub fn attributes(&self) -> Result<HashMap<String, String>> {
        Ok(self.inner.attributes()?.into_iter().collect())
    }

    /// Shell lifecycle: back in the foreground after `background_ms` ms in the background; settles delay
    /// conditions, then runs the automatic check when the mode says so.
    pub fn on_foreground(&self, background_ms: i64, cancel: Arc<CancelToken>) -> Result<AutoOutcome> {
        Ok(self.inner.on_foreground(background_ms, cancel.core())?.into())
    }

    /// Shell lifecycle: the app went to the background; applies the queued bundle when allowed. `Some(launch)`
    /// means: load it.
    pub fn on_background(&self) -> Result<Option<Launch>> {
        Ok(self.inner.on_background()?.map(Into::into))
    }

    /// Sends queued stats events in batches, respecting the backoff of earlier failures.
    pub fn flush_stats(&self, cancel: Arc<CancelToken>) -> Result<FlushResult> {
        Ok(self.inner.flush_stats(false, cancel.core())?.into())
    }

    /// Config `appReadyTimeout` in milliseconds, for the shell's ready timer.
    pub fn app_ready_timeout_ms(&self) -> u64 {
        self.inner.config().plugin.app_ready_timeout_ms
    }
}
