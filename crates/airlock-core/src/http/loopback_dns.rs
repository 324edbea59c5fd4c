//! A DNS resolver that knows only loopback names. Invariant: it answers `localhost` and `*.localhost` with
//! 127.0.0.1 and ::1 and fails every other name locally, so no lookup ever leaves the machine (test rigs such as
//! the fault matrix; set through [`super::HttpOptions::loopback_dns_only`]).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Resolves loopback names only.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LoopbackOnly;

/// The addresses of `name` under the loopback-only rule, or why it cannot be resolved.
pub(crate) fn lookup(name: &str) -> Result<Vec<SocketAddr>, String> {
    let bare = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if bare == "localhost" || bare.ends_with(".localhost") {
        return Ok(vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
        ]);
    }
    Err(format!(
        "the host name '{name}' could not be resolved: this agent's resolver knows only loopback names \
         (loopback-only DNS is on); use a loopback address or turn loopback-only DNS off"
    ))
}

impl Resolve for LoopbackOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let result = lookup(name.as_str())
            .map(|addrs| Box::new(addrs.into_iter()) as Addrs)
            .map_err(Box::<dyn std::error::Error + Send + Sync>::from);
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_resolve() {
        assert_eq!(lookup("localhost").map(|a| a.len()), Ok(2));
        assert!(lookup("cdn.localhost.").is_ok());
        assert!(lookup("updates.example.com").is_err_and(|e| e.contains("loopback-only")));
        assert!(lookup("localhost.example.com").is_err());
    }
}
