//! A tiny argument reader. Invariant: every flag is consumed exactly once, and anything left over is a usage
//! error (exit code 2), never silently ignored.

use std::collections::VecDeque;

#[derive(Debug)]
pub struct UsageError(pub String);

pub struct Args {
    items: VecDeque<String>,
}

impl Args {
    pub fn new(items: impl IntoIterator<Item = String>) -> Args {
        Args { items: items.into_iter().collect() }
    }

    /// Removes `--name VALUE` (or `--name=VALUE`) and returns the value.
    pub fn value(&mut self, name: &str) -> Result<Option<String>, UsageError> {
        let flag = format!("--{name}");
        let prefix = format!("--{name}=");
        let Some(i) = self.items.iter().position(|a| *a == flag || a.starts_with(&prefix)) else { return Ok(None) };
        let item = self.items.remove(i).unwrap_or_default();
        if let Some(v) = item.strip_prefix(&prefix) {
            return Ok(Some(v.to_string()));
        }
        match self.items.remove(i) {
            Some(v) if !v.starts_with("--") => Ok(Some(v)),
            _ => Err(UsageError(format!("{flag} needs a value"))),
        }
    }

    pub fn required(&mut self, name: &str) -> Result<String, UsageError> {
        self.value(name)?.ok_or_else(|| UsageError(format!("--{name} is required")))
    }

    /// Removes a boolean `--name` flag.
    pub fn flag(&mut self, name: &str) -> bool {
        let flag = format!("--{name}");
        match self.items.iter().position(|a| *a == flag) {
            Some(i) => {
                self.items.remove(i);
                true
            }
            None => false,
        }
    }

    /// The next positional word.
    pub fn next(&mut self) -> Option<String> {
        let i = self.items.iter().position(|a| !a.starts_with("--"))?;
        self.items.remove(i)
    }

    pub fn finish(self) -> Result<(), UsageError> {
        if self.items.is_empty() {
            Ok(())
        } else {
            Err(UsageError(format!(
                "unexpected arguments: {}",
                self.items.iter().cloned().collect::<Vec<_>>().join(" ")
            )))
        }
    }
}
