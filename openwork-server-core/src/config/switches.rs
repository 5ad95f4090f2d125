//! Switches the reference reads from the environment on every request rather than at
//! startup (contract §2.3), so a host can flip them without a restart.

use super::EnvSource;
use super::values::{js_number, parse_switch, switch_default_on};

/// Largest inbox upload accepted, whatever the environment says.
pub const INBOX_MAX_BYTES_CAP: u64 = 250_000_000;
/// Inbox upload limit when none is set.
pub const INBOX_MAX_BYTES_DEFAULT: u64 = 50_000_000;

/// Where a browser tool provider runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrowserProvider {
    /// Whether a browser provider is configured.
    pub enabled: bool,
    /// `in-sandbox`, `host-machine`, `client-machine` or `external`.
    pub placement: &'static str,
    /// `headless`, `interactive` or `none`.
    pub mode: &'static str,
}

/// The per-request switches, read fresh from an [`EnvSource`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switches {
    /// `OPENWORK_INBOX_ENABLED` (default on).
    pub inbox_enabled: bool,
    /// `OPENWORK_OUTBOX_ENABLED` (default on).
    pub outbox_enabled: bool,
    /// `OPENWORK_TOY_UI` (default on).
    pub toy_ui: bool,
    /// `OPENWORK_INBOX_MAX_BYTES`, clamped.
    pub inbox_max_bytes: u64,
    /// `OPENWORK_SANDBOX_BACKEND`: `docker`, `container` or `none`.
    pub sandbox_backend: &'static str,
    /// `OPENWORK_SANDBOX_ENABLED`, defaulting to "a backend is set".
    pub sandbox_enabled: bool,
    /// `OPENWORK_BROWSER_PROVIDER`.
    pub browser: BrowserProvider,
    /// `OPENCODE_ROUTER_HEALTH_PORT`, when it is a non-zero integer.
    pub router_health_port: Option<u16>,
}

impl Switches {
    /// Reads every switch now.
    pub fn read(env: &EnvSource) -> Self {
        let get = |name: &str| env.get(name);
        let sandbox_backend = match get("OPENWORK_SANDBOX_BACKEND")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("docker") => "docker",
            Some("container") => "container",
            _ => "none",
        };
        let sandbox_enabled = get("OPENWORK_SANDBOX_ENABLED")
            .and_then(|v| parse_switch(&v))
            .unwrap_or(sandbox_backend != "none");
        let browser = match get("OPENWORK_BROWSER_PROVIDER").as_deref().map(str::trim) {
            Some("sandbox-headless") => BrowserProvider {
                enabled: true,
                placement: "in-sandbox",
                mode: "headless",
            },
            Some("host-interactive") => BrowserProvider {
                enabled: true,
                placement: "host-machine",
                mode: "interactive",
            },
            Some("client-interactive") => BrowserProvider {
                enabled: true,
                placement: "client-machine",
                mode: "interactive",
            },
            _ => BrowserProvider {
                enabled: false,
                placement: "external",
                mode: "none",
            },
        };
        Self {
            inbox_enabled: switch_default_on(get("OPENWORK_INBOX_ENABLED").as_deref()),
            outbox_enabled: switch_default_on(get("OPENWORK_OUTBOX_ENABLED").as_deref()),
            toy_ui: switch_default_on(get("OPENWORK_TOY_UI").as_deref()),
            inbox_max_bytes: inbox_max_bytes(get("OPENWORK_INBOX_MAX_BYTES").as_deref()),
            sandbox_backend,
            sandbox_enabled,
            browser,
            router_health_port: get("OPENCODE_ROUTER_HEALTH_PORT")
                .and_then(|v| v.trim().parse::<u16>().ok())
                .filter(|port| *port != 0),
        }
    }
}

/// A positive number is truncated and capped; anything else gives the default.
fn inbox_max_bytes(value: Option<&str>) -> u64 {
    match value.filter(|v| !v.trim().is_empty()).and_then(js_number) {
        Some(n) if n > 0.0 => (n.trunc() as u64).min(INBOX_MAX_BYTES_CAP),
        _ => INBOX_MAX_BYTES_DEFAULT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Switches {
        Switches::read(&EnvSource::fixed(pairs.iter().copied()))
    }

    #[test]
    fn defaults_with_an_empty_environment() {
        let s = read(&[]);
        assert!(s.inbox_enabled && s.outbox_enabled && s.toy_ui);
        assert_eq!(s.inbox_max_bytes, 50_000_000);
        assert_eq!((s.sandbox_enabled, s.sandbox_backend), (false, "none"));
        assert!(!s.browser.enabled);
        assert_eq!(s.router_health_port, None);
    }

    #[test]
    fn values_are_coerced_like_the_reference() {
        let s = read(&[
            ("OPENWORK_INBOX_ENABLED", "banana"),
            ("OPENWORK_OUTBOX_ENABLED", " ON "),
            ("OPENWORK_INBOX_MAX_BYTES", "999999999999"),
            ("OPENWORK_SANDBOX_BACKEND", "docker"),
            ("OPENWORK_BROWSER_PROVIDER", "host-interactive"),
            ("OPENCODE_ROUTER_HEALTH_PORT", "3005"),
        ]);
        assert!(!s.inbox_enabled);
        assert!(s.outbox_enabled);
        assert_eq!(s.inbox_max_bytes, INBOX_MAX_BYTES_CAP);
        assert_eq!((s.sandbox_enabled, s.sandbox_backend), (true, "docker"));
        assert_eq!(s.browser.placement, "host-machine");
        assert_eq!(s.router_health_port, Some(3005));

        let s = read(&[
            ("OPENWORK_INBOX_MAX_BYTES", "1234.9"),
            ("OPENWORK_SANDBOX_BACKEND", "docker"),
            ("OPENWORK_SANDBOX_ENABLED", "off"),
            ("OPENCODE_ROUTER_HEALTH_PORT", "0"),
        ]);
        assert_eq!(s.inbox_max_bytes, 1234);
        assert!(!s.sandbox_enabled);
        assert_eq!(s.router_health_port, None);
        assert_eq!(
            read(&[("OPENWORK_INBOX_MAX_BYTES", "-5")]).inbox_max_bytes,
            50_000_000
        );
    }
}
