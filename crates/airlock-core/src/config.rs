//! Typed configuration. Invariant: a `Config` only exists if every known key had the right type; unknown keys are
//! collected as warnings, never silently dropped, and a wrong type fails fast naming the key.

use serde_json::{Map, Value};
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Capgo's `autoUpdate` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoUpdate {
    Off,
    AtBackground,
    AtInstall,
    OnLaunch,
    Always,
    OnlyDownload,
}

impl AutoUpdate {
    /// Capgo's parsing: booleans and mode names; an unknown string means `atBackground`.
    fn parse(value: &Value) -> Option<Self> {
        Some(match value {
            Value::Bool(true) => AutoUpdate::AtBackground,
            Value::Bool(false) => AutoUpdate::Off,
            Value::String(s) => match s.as_str() {
                "off" | "false" => AutoUpdate::Off,
                "atInstall" => AutoUpdate::AtInstall,
                "onLaunch" => AutoUpdate::OnLaunch,
                "always" => AutoUpdate::Always,
                "onlyDownload" => AutoUpdate::OnlyDownload,
                _ => AutoUpdate::AtBackground,
            },
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AutoUpdate::Off => "off",
            AutoUpdate::AtBackground => "atBackground",
            AutoUpdate::AtInstall => "atInstall",
            AutoUpdate::OnLaunch => "onLaunch",
            AutoUpdate::Always => "always",
            AutoUpdate::OnlyDownload => "onlyDownload",
        }
    }
}

/// Where update offers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Catalog,
    Capgo,
}

/// `plugins.CapacitorUpdater` from `capacitor.config`, with Capgo's names and defaults plus Airlock's keys.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    pub app_ready_timeout_ms: u64,
    pub response_timeout_ms: u64,
    pub auto_delete_failed: bool,
    pub auto_delete_previous: bool,
    pub reset_when_update: bool,
    pub auto_update: AutoUpdate,
    pub update_url: String,
    pub stats_url: String,
    pub channel_url: String,
    pub default_channel: String,
    pub allow_set_default_channel: bool,
    pub period_check_delay_s: u64,
    pub version: Option<String>,
    pub app_id: Option<String>,
    pub persist_custom_id: bool,
    pub source: SourceKind,
    pub catalog_url: Option<String>,
    /// ed25519 public keys (32 bytes each), decoded from base64.
    pub trusted_keys: Vec<[u8; 32]>,
    pub signature_threshold: usize,
    pub allow_insecure_http: bool,
    pub encryption_key: Option<[u8; 32]>,
    pub max_boot_attempts: u32,
    pub strict_verify: bool,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            app_ready_timeout_ms: 10_000,
            response_timeout_ms: 20_000,
            auto_delete_failed: true,
            auto_delete_previous: true,
            reset_when_update: true,
            auto_update: AutoUpdate::AtBackground,
            update_url: "https://plugin.capgo.app/updates".into(),
            stats_url: "https://plugin.capgo.app/stats".into(),
            channel_url: "https://plugin.capgo.app/channel_self".into(),
            default_channel: "production".into(),
            allow_set_default_channel: true,
            period_check_delay_s: 0,
            version: None,
            app_id: None,
            persist_custom_id: false,
            source: SourceKind::Capgo,
            catalog_url: None,
            trusted_keys: Vec::new(),
            signature_threshold: 1,
            allow_insecure_http: false,
            encryption_key: None,
            max_boot_attempts: 2,
            strict_verify: false,
        }
    }
}

/// Capgo keys we accept and ignore (they concern UI or features outside the engine).
const IGNORED_KEYS: &[&str] = &[
    "autoSplashscreen",
    "autoSplashscreenLoader",
    "autoSplashscreenTimeout",
    "allowModifyUrl",
    "persistModifyUrl",
    "allowModifyAppId",
    "allowManualBundleError",
    "allowPreview",
    "keepUrlPathAfterReload",
    "disableJSLogging",
    "osLogging",
    "shakeMenu",
    "shakeMenuGesture",
    "allowShakeChannelSelector",
    "persistDefaultChannelOnReinstall",
    "publicKey",
    "localS3",
    "localHost",
    "localWebHost",
    "localSupa",
    "localSupaAnon",
    "localApi",
    "localApiFiles",
];

/// Facts about the app and device that the shell supplies (`device` object, camelCase).
#[derive(Debug, Clone)]
pub struct DeviceFacts {
    pub platform: String,
    pub app_id: String,
    pub native_version: String,
    pub native_build: String,
    pub os_version: String,
    pub builtin_dir: PathBuf,
    pub data_dir: PathBuf,
    pub is_emulator: bool,
    pub is_prod: bool,
    /// The device's current offset from UTC in minutes (`utcOffsetMinutes`, e.g. 120 for UTC+2; default 0), for
    /// catalog maintenance windows, which are in device-local time. The shell reads it from the OS at start-up.
    pub utc_offset_minutes: i32,
}

/// The whole configuration of one agent.
#[derive(Debug, Clone)]
pub struct Config {
    pub plugin: PluginConfig,
    pub device: DeviceFacts,
    /// Non-fatal findings (unknown keys), logged at start-up.
    pub warnings: Vec<String>,
}

impl Config {
    /// Parses the simulator's file shape `{"plugin": {...}, "device": {...}}`.
    pub fn from_json(text: &str) -> Result<Config> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::Config(format!("config is not valid JSON: {e}")))?;
        let obj = value.as_object().ok_or_else(|| Error::Config("config must be a JSON object".into()))?;
        let empty = Value::Object(Map::new());
        let plugin = obj.get("plugin").unwrap_or(&empty);
        let device = obj.get("device").ok_or_else(|| Error::Config("config has no \"device\" object".into()))?;
        Config::from_parts(plugin, device)
    }

    /// Parses the plugin config and the device facts given as separate JSON values (what shells pass).
    pub fn from_parts(plugin: &Value, device: &Value) -> Result<Config> {
        let mut warnings = Vec::new();
        let plugin = parse_plugin(plugin, &mut warnings)?;
        let device = parse_device(device)?;
        for w in &warnings {
            log::warn!("{w}");
        }
        Ok(Config { plugin, device, warnings })
    }

    /// App id: the plugin's `appId` override, else the shell's.
    pub fn app_id(&self) -> &str {
        self.plugin.app_id.as_deref().unwrap_or(&self.device.app_id)
    }

    /// Version name of the builtin bundle: the plugin's `version` override, else the native version.
    pub fn builtin_version(&self) -> &str {
        self.plugin.version.as_deref().unwrap_or(&self.device.native_version)
    }
}

struct Reader<'a> {
    obj: &'a Map<String, Value>,
    section: &'static str,
}

impl<'a> Reader<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }
    fn bad(&self, key: &str, want: &str) -> Error {
        Error::Config(format!("{}.{key} must be {want}", self.section))
    }
    fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.bad(key, "a boolean")),
        }
    }
    fn u64(&self, key: &str, default: u64) -> Result<u64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64))
                .ok_or_else(|| self.bad(key, "a non-negative whole number")),
        }
    }
    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_str().map(|s| Some(s.to_string())).ok_or_else(|| self.bad(key, "a string")),
        }
    }
    fn required(&self, key: &str) -> Result<String> {
        self.string(key)?.ok_or_else(|| Error::Config(format!("{}.{key} is required", self.section)))
    }
}

fn key32(section: &str, key: &str, b64: &str) -> Result<[u8; 32]> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| Error::Config(format!("{section}.{key} is not valid base64: {e}")))?;
    bytes.try_into().map_err(|_| Error::Config(format!("{section}.{key} must decode to exactly 32 bytes")))
}

const PLUGIN_KEYS: &[&str] = &[
    "appReadyTimeout",
    "responseTimeout",
    "autoDeleteFailed",
    "autoDeletePrevious",
    "resetWhenUpdate",
    "autoUpdate",
    "directUpdate",
    "updateUrl",
    "statsUrl",
    "channelUrl",
    "defaultChannel",
    "allowSetDefaultChannel",
    "periodCheckDelay",
    "version",
    "appId",
    "persistCustomId",
    "source",
    "catalogUrl",
    "trustedKeys",
    "signatureThreshold",
    "allowInsecureHttp",
    "encryptionKey",
    "maxBootAttempts",
    "strictVerify",
];

fn parse_plugin(value: &Value, warnings: &mut Vec<String>) -> Result<PluginConfig> {
    let obj = value
        .as_object()
        .ok_or_else(|| Error::Config("plugin config (CapacitorUpdater) must be a JSON object".into()))?;
    for key in obj.keys() {
        if !PLUGIN_KEYS.contains(&key.as_str()) && !IGNORED_KEYS.contains(&key.as_str()) {
            warnings.push(format!("unknown CapacitorUpdater config key \"{key}\" is ignored"));
        }
    }
    let r = Reader { obj, section: "CapacitorUpdater" };
    let d = PluginConfig::default();
    let mut auto_update = match r.get("autoUpdate") {
        None => d.auto_update,
        Some(v) => AutoUpdate::parse(v).ok_or_else(|| r.bad("autoUpdate", "a boolean or a mode name"))?,
    };
    // Deprecated `directUpdate`: true means `always`, or a mode name.
    match r.get("directUpdate") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => auto_update = AutoUpdate::Always,
        Some(Value::String(s)) if matches!(s.as_str(), "atInstall" | "onLaunch" | "always") => {
            auto_update = AutoUpdate::parse(&Value::String(s.clone())).unwrap_or(auto_update)
        }
        Some(_) => return Err(r.bad("directUpdate", "a boolean or \"atInstall\", \"onLaunch\", \"always\"")),
    }
    let catalog_url = r.string("catalogUrl")?;
    let source = match r.string("source")?.as_deref() {
        None if catalog_url.is_some() => SourceKind::Catalog,
        None => SourceKind::Capgo,
        Some("catalog") => SourceKind::Catalog,
        Some("capgo") => SourceKind::Capgo,
        Some(_) => return Err(r.bad("source", "\"catalog\" or \"capgo\"")),
    };
    let trusted_keys = match r.get("trustedKeys") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let s = v.as_str().ok_or_else(|| r.bad("trustedKeys", "a list of base64 strings"))?;
                key32("CapacitorUpdater", &format!("trustedKeys[{i}]"), s)
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(r.bad("trustedKeys", "a list of base64 strings")),
    };
    let encryption_key = match r.string("encryptionKey")? {
        None => None,
        Some(s) => Some(key32("CapacitorUpdater", "encryptionKey", &s)?),
    };
    let signature_threshold = r.u64("signatureThreshold", 1)?;
    if signature_threshold == 0 {
        return Err(r.bad("signatureThreshold", "at least 1"));
    }
    let max_boot_attempts = r.u64("maxBootAttempts", u64::from(d.max_boot_attempts))?;
    if max_boot_attempts == 0 || max_boot_attempts > 100 {
        return Err(r.bad("maxBootAttempts", "between 1 and 100"));
    }
    let period = r.u64("periodCheckDelay", 0)?;
    Ok(PluginConfig {
        app_ready_timeout_ms: r.u64("appReadyTimeout", d.app_ready_timeout_ms)?.max(1000),
        response_timeout_ms: r.u64("responseTimeout", 20)?.max(1) * 1000,
        auto_delete_failed: r.bool("autoDeleteFailed", d.auto_delete_failed)?,
        auto_delete_previous: r.bool("autoDeletePrevious", d.auto_delete_previous)?,
        reset_when_update: r.bool("resetWhenUpdate", d.reset_when_update)?,
        auto_update,
        update_url: r.string("updateUrl")?.unwrap_or(d.update_url),
        stats_url: r.string("statsUrl")?.unwrap_or(d.stats_url),
        channel_url: r.string("channelUrl")?.unwrap_or(d.channel_url),
        default_channel: r.string("defaultChannel")?.unwrap_or(d.default_channel),
        allow_set_default_channel: r.bool("allowSetDefaultChannel", d.allow_set_default_channel)?,
        period_check_delay_s: if period == 0 { 0 } else { period.max(600) },
        version: r.string("version")?,
        app_id: r.string("appId")?,
        persist_custom_id: r.bool("persistCustomId", false)?,
        source,
        catalog_url,
        signature_threshold: signature_threshold as usize,
        trusted_keys,
        allow_insecure_http: r.bool("allowInsecureHttp", false)?,
        encryption_key,
        max_boot_attempts: max_boot_attempts as u32,
        strict_verify: r.bool("strictVerify", false)?,
    })
}

fn parse_device(value: &Value) -> Result<DeviceFacts> {
    let obj = value.as_object().ok_or_else(|| Error::Config("device must be a JSON object".into()))?;
    let r = Reader { obj, section: "device" };
    let platform = r.required("platform")?;
    if !matches!(platform.as_str(), "ios" | "android" | "linux") {
        return Err(r.bad("platform", "\"ios\", \"android\" or \"linux\""));
    }
    Ok(DeviceFacts {
        platform,
        app_id: r.required("appId")?,
        native_version: r.required("nativeVersion")?,
        native_build: r.string("nativeBuild")?.unwrap_or_default(),
        os_version: r.string("osVersion")?.unwrap_or_default(),
        builtin_dir: PathBuf::from(r.required("builtinDir")?),
        data_dir: PathBuf::from(r.required("dataDir")?),
        is_emulator: r.bool("isEmulator", false)?,
        is_prod: r.bool("isProd", true)?,
        utc_offset_minutes: utc_offset(&r)?,
    })
}

/// `device.utcOffsetMinutes`: a whole number of minutes within ±18 hours (the widest offset RFC 3339 allows).
fn utc_offset(r: &Reader<'_>) -> Result<i32> {
    const MAX: i64 = 18 * 60;
    let want = "a whole number of minutes from UTC between -1080 and 1080 (e.g. 120 for UTC+2)";
    match r.get("utcOffsetMinutes") {
        None => Ok(0),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= MAX as f64).map(|f| f as i64))
            .filter(|m| m.abs() <= MAX)
            .and_then(|m| i32::try_from(m).ok())
            .ok_or_else(|| r.bad("utcOffsetMinutes", want)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn device() -> Value {
        json!({"platform": "android", "appId": "com.example", "nativeVersion": "1.0.0",
               "builtinDir": "/b", "dataDir": "/d"})
    }

    #[test]
    fn defaults_follow_capgo() {
        let c = Config::from_parts(&json!({}), &device()).unwrap();
        assert_eq!(c.plugin.app_ready_timeout_ms, 10_000);
        assert_eq!(c.plugin.auto_update, AutoUpdate::AtBackground);
        assert_eq!(c.plugin.default_channel, "production");
        assert_eq!(c.plugin.max_boot_attempts, 2);
        assert!(c.plugin.reset_when_update && c.plugin.auto_delete_failed);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn wrong_type_names_the_key_and_unknown_keys_warn() {
        let err = Config::from_parts(&json!({"appReadyTimeout": "soon"}), &device()).unwrap_err();
        assert!(err.to_string().contains("appReadyTimeout"), "{err}");
        let c = Config::from_parts(&json!({"bogus": 1, "shakeMenu": true}), &device()).unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("bogus"));
    }

    #[test]
    fn capgo_value_coercions() {
        let c = Config::from_parts(
            &json!({"autoUpdate": false, "periodCheckDelay": 30, "appReadyTimeout": 10, "responseTimeout": 5}),
            &device(),
        )
        .unwrap();
        assert_eq!(c.plugin.auto_update, AutoUpdate::Off);
        assert_eq!(c.plugin.period_check_delay_s, 600);
        assert_eq!(c.plugin.app_ready_timeout_ms, 1000);
        assert_eq!(c.plugin.response_timeout_ms, 5000);
        let c = Config::from_parts(&json!({"autoUpdate": "weird"}), &device()).unwrap();
        assert_eq!(c.plugin.auto_update, AutoUpdate::AtBackground);
    }

    #[test]
    fn utc_offset_defaults_to_zero_and_must_be_a_sane_whole_number() {
        assert_eq!(Config::from_parts(&json!({}), &device()).unwrap().device.utc_offset_minutes, 0);
        let mut d = device();
        d["utcOffsetMinutes"] = json!(-330);
        assert_eq!(Config::from_parts(&json!({}), &d).unwrap().device.utc_offset_minutes, -330);
        for bad in [json!("+02:00"), json!(1.5), json!(5000)] {
            d["utcOffsetMinutes"] = bad;
            let err = Config::from_parts(&json!({}), &d).unwrap_err();
            assert!(err.to_string().contains("utcOffsetMinutes"), "{err}");
        }
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        let err = Config::from_parts(&json!({"trustedKeys": ["AAAA"]}), &device()).unwrap_err();
        assert!(err.to_string().contains("trustedKeys[0]"), "{err}");
        let err = Config::from_parts(&json!({"encryptionKey": "%%"}), &device()).unwrap_err();
        assert!(err.to_string().contains("encryptionKey"), "{err}");
    }
}
