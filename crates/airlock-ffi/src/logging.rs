//! Logging: the `log` facade of the whole library goes to the foreign `LogSink` (everywhere, once set) and to the
//! system log on a device (logcat on Android, os_log on iOS). Invariant: the logger is installed at most once per
//! process, a sink that logs from inside `log()` cannot recurse into itself, and a sink that throws never breaks
//! the operation that logged.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Once, RwLock};

use log::{LevelFilter, Log, Metadata, Record};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong but the agent goes on.
    Warn,
    /// Lifecycle milestones (downloads, installs, rollbacks).
    Info,
    /// Details for debugging.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn filter(self) -> LevelFilter {
        match self {
            LogLevel::Error => LevelFilter::Error,
            LogLevel::Warn => LevelFilter::Warn,
            LogLevel::Info => LevelFilter::Info,
            LogLevel::Debug => LevelFilter::Debug,
            LogLevel::Trace => LevelFilter::Trace,
        }
    }
}

impl From<log::Level> for LogLevel {
    fn from(l: log::Level) -> Self {
        match l {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

/// Receives the library's log lines. Called on the thread that logs; must be quick and must not block.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One log line: its level, its target (the Rust module that logged) and the message.
    fn log(&self, level: LogLevel, target: String, message: String);
}

static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
static INSTALL: Once = Once::new();

thread_local! {
    /// Set while this thread is inside the foreign sink: a log line emitted from there is not forwarded again.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// Level used before any sink is set: the system log of a device gets `Info` and up; elsewhere nothing is logged.
const DEFAULT_LEVEL: LevelFilter =
    if cfg!(any(target_os = "android", target_os = "ios")) { LevelFilter::Info } else { LevelFilter::Off };

/// Routes the `log` facade to `sink` (replacing any earlier sink) and sets the maximum level logged.
pub fn set_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) {
    install();
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    log::set_max_level(max_level.filter());
}

/// Installs the forwarding logger once per process (a no-op when the host already installed another one).
pub(crate) fn install() {
    INSTALL.call_once(|| {
        // Leaked once per process: the `log` facade needs a logger that lives forever.
        if log::set_logger(Box::leak(Box::new(Forwarder::new()))).is_ok() {
            log::set_max_level(DEFAULT_LEVEL);
        }
    });
}

struct Forwarder {
    #[cfg(target_os = "android")]
    system: android_logger::AndroidLogger,
    #[cfg(target_os = "ios")]
    system: oslog::OsLogger,
}

impl Forwarder {
    fn new() -> Self {
        Forwarder {
            #[cfg(target_os = "android")]
            system: android_logger::AndroidLogger::new(
                android_logger::Config::default().with_tag("Airlock").with_max_level(LevelFilter::Trace),
            ),
            #[cfg(target_os = "ios")]
            system: oslog::OsLogger::new("app.airlock"),
        }
    }

    fn to_sink(record: &Record<'_>) {
        let Some(sink) = SINK.read().unwrap_or_else(|p| p.into_inner()).clone() else { return };
        if IN_SINK.with(|f| f.replace(true)) {
            return;
        }
        let (level, target, message) = (record.level().into(), record.target().to_string(), record.args().to_string());
        // A throwing sink is dropped silently: logging about a broken logger would only recurse.
        let _ = catch_unwind(AssertUnwindSafe(|| sink.log(level, target, message)));
        IN_SINK.with(|f| f.set(false));
    }
}

impl Log for Forwarder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        #[cfg(any(target_os = "android", target_os = "ios"))]
        self.system.log(record);
        Self::to_sink(record);
    }

    fn flush(&self) {}
}
