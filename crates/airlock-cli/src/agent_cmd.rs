//! `airlock agent …`: the device simulator, one command per process, over the same engine a phone runs.
//! Invariant: output uses the JS API's JSON shapes, plus `path` and `token` where a WebView load is involved.

use std::path::PathBuf;
use std::sync::Arc;

use airlock_core::boot::Ready;
use airlock_core::http::HttpOptions;
use airlock_core::install::DownloadRequest;
use airlock_core::lifecycle::AutoOutcome;
use airlock_core::schedule::{DelayCondition, Trigger};
use airlock_core::source::CheckResult;
use airlock_core::{Agent, Cancel, Clock, Config, Event, EventSink, ManualClock, SystemClock};
use serde_json::{Value, json};

use crate::Failure;
use crate::args::Args;

/// Prints events on stderr (progress on a terminal is a single updating line).
struct StderrSink {
    json: bool,
}

impl EventSink for StderrSink {
    fn on_event(&self, event: Event) {
        if self.json {
            if !matches!(event, Event::Download { .. }) {
                eprintln!("{}", serde_json::to_string(&event).unwrap_or_default());
            }
            return;
        }
        match &event {
            Event::Download { percent, .. } => eprint!("\rdownloading… {percent:>3}%"),
            other => eprintln!("\revent {}", other.name()),
        }
    }
}

fn auto_json(outcome: AutoOutcome) -> Value {
    match outcome {
        AutoOutcome::Skipped { reason } => json!({"kind": "skipped", "reason": reason}),
        AutoOutcome::UpToDate => json!({"kind": "up_to_date"}),
        AutoOutcome::Downloaded { bundle, apply } => json!({"kind": "downloaded", "bundle": bundle, "apply": apply}),
        AutoOutcome::Reload(launch) => json!({"kind": "reload", "launch": launch}),
    }
}

pub fn run(mut args: Args, json: bool) -> Result<(), Failure> {
    let config_path = args.required("config")?;
    let root = args.value("root")?;
    let now_ms = args.value("now-ms")?;
    let json = json || args.flag("json");
    let command = args.next().ok_or_else(|| Failure::Usage("agent needs a command".into()))?;
    let text = std::fs::read_to_string(&config_path).map_err(|e| {
        Failure::Error(airlock_core::Error::Config(format!("cannot read config file {config_path}: {e}")))
    })?;
    let mut config = Config::from_json(&text)?;
    if let Some(root) = root {
        config.device.data_dir = PathBuf::from(root);
    }
    // `--now-ms`: the simulator's injected clock (a fleet test moves it between a phone's sessions).
    let clock: Arc<dyn Clock> = match now_ms {
        Some(v) => Arc::new(ManualClock::new(
            v.parse().map_err(|_| Failure::Usage("--now-ms takes Unix milliseconds".into()))?,
        )),
        None => sim_clock()?,
    };
    let agent = Agent::open_with_http(config, Arc::new(StderrSink { json }), clock, sim_http_options()?)?;
    let out: Value = match command.as_str() {
        "launch" => {
            args.finish()?;
            json!(agent.launch()?)
        }
        // The JS `reload()` a shell forwards: applies a queued bundle whatever its delay conditions, and the page
        // asking is alive (its load is not counted as failed) — not a cold start.
        "reload" => {
            args.finish()?;
            json!(agent.reload()?)
        }
        "ready" => {
            let token = args.required("token")?;
            args.finish()?;
            match agent.notify_app_ready(&token)? {
                Ready::Blessed(bundle) => json!({ "bundle": bundle }),
                Ready::Ignored { current, reason } => json!({ "bundle": current, "ignored": reason }),
            }
        }
        "ready-timeout" => {
            let token = args.required("token")?;
            args.finish()?;
            match agent.ready_timeout(&token)? {
                Some(launch) => json!(launch),
                None => json!({ "ignored": "the token is stale or its bundle cannot be rolled back" }),
            }
        }
        "download" => {
            let req = DownloadRequest {
                url: args.value("url")?,
                version: args.value("version")?,
                checksum: args.value("checksum")?,
                session_key: None,
                manifest_url: args.value("manifest")?,
            };
            args.finish()?;
            let info = agent.download(&req, &Cancel::never());
            if !json {
                eprintln!();
            }
            json!(info?)
        }
        "next" => {
            let id = args.required("id")?;
            args.finish()?;
            json!(agent.set_next(&id)?)
        }
        "set" => {
            let id = args.required("id")?;
            args.finish()?;
            json!(agent.set_current(&id)?)
        }
        "reset" => {
            let to_last_good = args.flag("to-last-good");
            args.finish()?;
            json!(agent.reset(to_last_good)?)
        }
        "current" => {
            args.finish()?;
            json!(agent.current()?)
        }
        "list" => {
            args.finish()?;
            json!({ "bundles": agent.list()? })
        }
        "delete" => {
            let id = args.required("id")?;
            args.finish()?;
            agent.delete(&id)?;
            json!({ "deleted": id })
        }
        "failed-update" => {
            args.finish()?;
            match agent.take_failed_update()? {
                Some(bundle) => json!({ "bundle": bundle }),
                None => Value::Null,
            }
        }
        "check" => {
            args.finish()?;
            match agent.check(&Cancel::never())? {
                CheckResult::UpToDate { current, reason } => {
                    json!({"kind": "up_to_date", "bundle": current, "message": reason})
                }
                CheckResult::Available { release, version, manifest_url, installed, .. } => json!({
                    "kind": "available", "release": release, "version": version, "url": manifest_url,
                    "installed": installed,
                }),
            }
        }
        "update" => {
            args.finish()?;
            match agent.update(&Cancel::never())? {
                Some(bundle) => json!({"kind": "queued", "bundle": bundle, "next": agent.next_bundle()?}),
                None => json!({"kind": "up_to_date", "bundle": agent.current()?.bundle}),
            }
        }
        "latest" => {
            let channel = args.value("channel")?;
            args.finish()?;
            json!(agent.latest(channel.as_deref(), &Cancel::never())?)
        }
        "set-channel" => {
            let name = args.next().ok_or_else(|| Failure::Usage("set-channel NAME".into()))?;
            args.finish()?;
            json!(agent.set_channel(&name, &Cancel::never())?)
        }
        "unset-channel" => {
            args.finish()?;
            agent.unset_channel()?;
            json!(agent.get_channel()?)
        }
        "get-channel" => {
            args.finish()?;
            json!(agent.get_channel()?)
        }
        "list-channels" => {
            args.finish()?;
            json!({ "channels": agent.list_channels(&Cancel::never())? })
        }
        "set-custom-id" => {
            let id = args.next().unwrap_or_default();
            args.finish()?;
            agent.set_custom_id(&id)?;
            json!({ "customId": id })
        }
        "set-attributes" => {
            let mut attrs = std::collections::BTreeMap::new();
            while let Some(kv) = args.next() {
                let (k, v) = kv.split_once('=').ok_or_else(|| Failure::Usage("set-attributes k=v …".into()))?;
                attrs.insert(k.to_string(), v.to_string());
            }
            args.finish()?;
            agent.set_attributes(&attrs)?;
            json!({ "attributes": agent.attributes()? })
        }
        "auto" => {
            let trigger = match args.value("trigger")?.as_deref().unwrap_or("manual") {
                "cold-start" => Trigger::ColdStart,
                "foreground" => Trigger::Foreground,
                "periodic" => Trigger::Periodic,
                "manual" => Trigger::Manual,
                other => return Err(Failure::Usage(format!("unknown trigger {other}"))),
            };
            args.finish()?;
            auto_json(agent.check_and_update(trigger, &Cancel::never())?)
        }
        "foreground" => {
            let ms = args
                .value("background-ms")?
                .map_or(Ok(0), |v| v.parse::<i64>())
                .map_err(|_| Failure::Usage("--background-ms takes milliseconds".into()))?;
            args.finish()?;
            auto_json(agent.on_foreground(ms, &Cancel::never())?)
        }
        "background" => {
            args.finish()?;
            match agent.on_background()? {
                Some(launch) => json!({ "reload": launch }),
                None => json!({ "reload": null }),
            }
        }
        "delay" => {
            let text = args.next().ok_or_else(|| Failure::Usage("delay '[{\"kind\":\"kill\"}]'".into()))?;
            args.finish()?;
            let conds: Vec<DelayCondition> = serde_json::from_str(&text)
                .map_err(|e| Failure::Usage(format!("delay conditions must be Capgo's JSON list: {e}")))?;
            agent.set_delay_conditions(&conds)?;
            json!({ "delayConditions": agent.delay_conditions()? })
        }
        "cancel-delay" => {
            args.finish()?;
            agent.cancel_delay()?;
            json!({ "delayConditions": [] })
        }
        "flush-stats" => {
            let force = args.flag("force");
            args.finish()?;
            json!(agent.flush_stats(force, &Cancel::never())?)
        }
        "device-id" => {
            args.finish()?;
            json!({ "deviceId": agent.device_id()? })
        }
        other => return Err(Failure::Usage(format!("unknown agent command \"{other}\""))),
    };
    if json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    Ok(())
}

/// Simulator-only knobs read from the environment (test rigs such as the fault matrix; a phone has none):
/// - `AIRLOCK_LOOPBACK_DNS=1`: host names resolve only to loopback (`localhost`); any other name fails locally,
///   so no DNS query leaves the machine.
/// - `AIRLOCK_WATCHDOG_WINDOW_MS`, `AIRLOCK_WATCHDOG_MIN_BPS`: the transfer watchdog's throughput window and
///   minimum bytes per second (defaults 30 000 ms and 1024 B/s), so drip and stall scenarios end in seconds.
fn sim_http_options() -> Result<HttpOptions, Failure> {
    let mut options = HttpOptions {
        loopback_dns_only: std::env::var("AIRLOCK_LOOPBACK_DNS").is_ok_and(|v| v == "1"),
        ..HttpOptions::default()
    };
    if let Some(ms) = env_u64("AIRLOCK_WATCHDOG_WINDOW_MS")? {
        options.throughput_window_ms = ms;
    }
    if let Some(bps) = env_u64("AIRLOCK_WATCHDOG_MIN_BPS")? {
        options.min_throughput_bytes_per_sec = bps;
    }
    Ok(options)
}

/// The simulator's clock: the system clock, shifted by `AIRLOCK_CLOCK_OFFSET_MS` (may be negative) when set,
/// so a rig can step past a server's `Retry-After` without sleeping.
fn sim_clock() -> Result<Arc<dyn Clock>, Failure> {
    struct Shifted(i64);
    impl Clock for Shifted {
        fn now_ms(&self) -> i64 {
            SystemClock.now_ms().saturating_add(self.0)
        }
    }
    match std::env::var("AIRLOCK_CLOCK_OFFSET_MS") {
        Err(_) => Ok(Arc::new(SystemClock)),
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .map(|ms| Arc::new(Shifted(ms)) as Arc<dyn Clock>)
            .map_err(|_| Failure::Usage(format!("AIRLOCK_CLOCK_OFFSET_MS must be milliseconds, not '{v}'"))),
    }
}

fn env_u64(name: &str) -> Result<Option<u64>, Failure> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(v) => {
            v.trim().parse().map(Some).map_err(|_| Failure::Usage(format!("{name} must be a whole number, not '{v}'")))
        }
    }
}
