//! `airlock serve` and `airlock stats`: host a publisher repo (static files with ETag/Range, stats collector) and
//! summarise what devices reported. Invariant: loopback by default; binding elsewhere is an explicit choice.

use std::path::PathBuf;

use airlock_core::Error;
use airlock_server::{Server, ServerConfig, stats};
use serde_json::{Value, json};

use crate::Failure;
use crate::args::Args;

pub fn serve(mut args: Args, json_out: bool) -> Result<Value, Failure> {
    let repo = PathBuf::from(args.required("repo")?);
    let addr = args.value("addr")?.unwrap_or_else(|| "127.0.0.1:8080".into());
    args.finish()?;
    let mut config = ServerConfig::new(&repo);
    config.addr = addr.parse().map_err(|_| Failure::Usage(format!("--addr {addr} is not HOST:PORT")))?;
    let server = Server::start(config).map_err(|e| Error::Storage(format!("cannot serve {}: {e}", repo.display())))?;
    let line = json!({"serving": repo, "url": server.url(), "stats": "POST /stats"});
    if json_out {
        println!("{line}");
    } else {
        println!("serving {} at {} (stats: POST {}/stats); Ctrl-C stops", repo.display(), server.url(), server.url());
    }
    server.wait();
    Ok(Value::Null)
}

pub fn stats(mut args: Args) -> Result<Value, Failure> {
    let repo = PathBuf::from(args.required("repo")?);
    args.finish()?;
    let rows = stats::summary(&repo.join("stats.sqlite3")).map_err(|e| Error::Storage(e.to_string()))?;
    Ok(json!({ "rows": rows.iter().map(|r| json!({
        "app_id": r.app_id, "channel": r.channel, "version": r.version, "action": r.action,
        "events": r.events, "devices": r.devices,
    })).collect::<Vec<_>>() }))
}
