//! The `airlock` command. Invariant: exit 0 on success, 1 on an error (with `{"error": {...}}` under `--json`),
//! 2 on bad usage; it never panics on user input.

mod agent_cmd;
mod args;
mod channel_cmd;
mod demo;
mod keys;
mod pack;
mod release_cmd;
mod serve_cmd;

use args::{Args, UsageError};

const USAGE: &str = "airlock — live updates for Capacitor apps

usage:
  airlock demo [--devices N] [--keep]                 the whole story on a local fleet (loopback only)
  airlock keys new [--out DIR] [--name NAME]          signing key pair + bundle encryption key
  airlock release <dist-dir|zip> --repo R --app-id A --version V --key FILE [--key FILE…]
                  [--encrypt --encryption-key FILE] [--release N] [--native-min X] [--native-max Y]
                  [--platforms ios,android] [--link URL] [--comment TEXT]
  airlock channel set <name> --repo R --app-id A --key FILE (--release N | --variants N:W,…) [--rollout P]
                  [--salt S] [--match-platforms ios,android] [--match-native 'RANGE'] [--match-custom-ids …]
                  [--match-device-ids …] [--match-attr k=v …] [--install-mode immediate|background|launch]
                  [--window 02:00-04:00] [--mandatory] [--self-assign] [--revoke N] [--replace]
  airlock channel rollback <name> --repo R --app-id A --key FILE [--to N]
  airlock channel pause <name> --repo R --app-id A --key FILE
  airlock channel show <name> --repo R --app-id A
  airlock serve --repo R [--addr 127.0.0.1:8080]      static hosting (ETag, Range, 304) + stats collector
  airlock stats --repo R                              what devices reported, by channel, version and action
  airlock agent --config FILE [--root DIR] [--now-ms MS] [--json] <command> [options]   device simulator
  airlock help

agent commands:
  launch                         choose the bundle to load and arm its boot record
  ready --token T                notifyAppReady() from the page loaded with token T
  ready-timeout --token T        the ready timer fired for token T: roll back now
  download --url U --version V [--checksum HEX] | --manifest URL
  next --id ID | set --id ID | reload | reset [--to-last-good]
  current | list | delete --id ID | failed-update
  check | update | latest [--channel C] | set-channel NAME | unset-channel | get-channel | list-channels
  set-custom-id ID | set-attributes k=v… | device-id | flush-stats [--force]
  auto [--trigger cold-start|foreground|periodic|manual] | foreground [--background-ms N] | background
  delay JSON (Capgo's delayConditions list) | cancel-delay
";

pub enum Failure {
    Usage(String),
    Error(airlock_core::Error),
}

impl From<UsageError> for Failure {
    fn from(e: UsageError) -> Self {
        Failure::Usage(e.0)
    }
}

impl From<airlock_core::Error> for Failure {
    fn from(e: airlock_core::Error) -> Self {
        Failure::Error(e)
    }
}

/// Prints a command's result: one JSON line under `--json`, pretty JSON otherwise.
pub fn print_value(v: &serde_json::Value, json: bool) {
    if json {
        println!("{v}");
    } else {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    }
}

fn main() {
    let mut args = Args::new(std::env::args().skip(1));
    let json = args.flag("json");
    let result = match args.next().as_deref() {
        Some("agent") => agent_cmd::run(args, json),
        Some("keys") => keys::run(args).map(|v| print_value(&v, json)),
        Some("release") => release_cmd::run(args).map(|v| print_value(&v, json)),
        Some("channel") => channel_cmd::run(args).map(|v| print_value(&v, json)),
        Some("serve") => serve_cmd::serve(args, json).map(|_| ()),
        Some("stats") => serve_cmd::stats(args).map(|v| print_value(&v, json)),
        Some("demo") => demo::run(args, json).map(|v| {
            if json {
                print_value(&v, true)
            }
        }),
        Some("help") | Some("--help") | Some("-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(Failure::Usage(format!("unknown command \"{other}\""))),
    };
    match result {
        Ok(()) => {}
        Err(Failure::Usage(msg)) => {
            eprintln!("airlock: {msg}\n\n{USAGE}");
            std::process::exit(2);
        }
        Err(Failure::Error(e)) => {
            if json {
                let mut err = serde_json::json!({"kind": e.kind_name(), "message": e.to_string()});
                if let Some(code) = e.reject_code() {
                    err["code"] = code.into();
                }
                if let Some(at) = e.retry_at_ms() {
                    err["retryAt"] = airlock_core::clock::iso8601(at).into();
                }
                println!("{}", serde_json::json!({ "error": err }));
            } else {
                eprintln!("airlock: {e}");
            }
            std::process::exit(1);
        }
    }
}
