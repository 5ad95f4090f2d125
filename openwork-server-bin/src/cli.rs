//! Command-line parsing with the reference's rules (contract §2.1): a left-to-right scan in
//! which unknown arguments are ignored and an option that takes a value always consumes the
//! next argument, even one that looks like a flag. Argument-parser crates reject both, and
//! wrappers that pass extra flags rely on them, so the scan is written out here.

use openwork_server_core::config::parse_list;
use openwork_server_core::{ApprovalMode, CliOverrides, LogFormat};
use std::path::PathBuf;

/// The help text: the program name, a blank line, then every option.
pub(crate) const HELP: &str = "\
openwork-server

Options:
  --help, -h                       Show this help and exit
  --version                        Print the version and exit
  --verbose                        Print the resolved configuration after startup
  --config <path>                  Server config file (default ~/.config/openwork/server.json)
  --host <host>                    Address to bind (default 127.0.0.1)
  --port <n>                       Port to bind (default 8787; 0 picks a free port)
  --token <t>                      Client token (default: generated)
  --host-token <t>                 Host token (default: generated)
  --approval <mode>                Write approval: manual or auto (default manual)
  --approval-timeout <ms>          Approval wait before a write is denied (default 30000)
  --opencode-base-url <url>        OpenCode base URL
  --opencode-directory <path>      OpenCode directory
  --opencode-username <u>          OpenCode basic-auth username
  --opencode-password <p>          OpenCode basic-auth password
  --workspace <path>               Workspace folder (repeatable)
  --cors <list>                    Allowed CORS origins (comma separated, default *)
  --read-only                      Refuse every write
  --log-format <fmt>               pretty or json (default pretty)
  --log-requests                   Log every request (default)
  --no-log-requests                Do not log requests
";

/// What the command line asks for.
#[derive(Debug, Default)]
pub(crate) struct Args {
    /// `--help` / `-h`.
    pub(crate) help: bool,
    /// `--version`.
    pub(crate) version: bool,
    /// `--verbose`.
    pub(crate) verbose: bool,
    /// `--config`.
    pub(crate) config: Option<PathBuf>,
    /// Everything else that configures the server.
    pub(crate) overrides: CliOverrides,
    /// Values that cannot work (e.g. a port above 65535), with the flag that gave them.
    pub(crate) errors: Vec<String>,
}

/// Scans the arguments (without the program name).
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Args {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let o = &mut parsed.overrides;
        match arg.as_str() {
            "--help" | "-h" => parsed.help = true,
            "--version" => parsed.version = true,
            "--verbose" => parsed.verbose = true,
            "--read-only" => o.read_only = Some(true),
            "--log-requests" => o.log_requests = Some(true),
            "--no-log-requests" => o.log_requests = Some(false),
            flag @ ("--config"
            | "--host"
            | "--port"
            | "--token"
            | "--host-token"
            | "--approval"
            | "--approval-timeout"
            | "--opencode-base-url"
            | "--opencode-directory"
            | "--opencode-username"
            | "--opencode-password"
            | "--workspace"
            | "--cors"
            | "--log-format") => {
                // A value option at the very end has no value and is ignored.
                let Some(value) = args.next() else { break };
                apply(&mut parsed, flag, value);
            }
            _ => {}
        }
    }
    parsed
}

fn apply(parsed: &mut Args, flag: &str, value: String) {
    let o = &mut parsed.overrides;
    match flag {
        "--config" => parsed.config = Some(PathBuf::from(value)),
        "--host" => o.host = Some(value),
        "--port" => match number(&value) {
            // Not a number: ignored, as the reference does.
            None => {}
            Some(n) if n.fract() == 0.0 && (0.0..=65535.0).contains(&n) => {
                o.port = Some(n as u16);
            }
            Some(_) => parsed
                .errors
                .push(format!("--port {value}: not a port number (0-65535)")),
        },
        "--token" => o.token = Some(value),
        "--host-token" => o.host_token = Some(value),
        "--approval" => {
            if let Some(mode) = ApprovalMode::from_name(&value) {
                o.approval_mode = Some(mode);
            }
        }
        "--approval-timeout" => {
            if let Some(n) = number(&value) {
                o.approval_timeout_ms = Some(n.max(0.0).trunc() as u64);
            }
        }
        "--opencode-base-url" => o.opencode_base_url = Some(value),
        "--opencode-directory" => o.opencode_directory = Some(value),
        "--opencode-username" => o.opencode_username = Some(value),
        "--opencode-password" => o.opencode_password = Some(value),
        "--workspace" => o.workspaces.push(value),
        "--cors" => o.cors_origins = Some(parse_list(&value)),
        "--log-format" => {
            o.log_format = Some(if value == "json" {
                LogFormat::Json
            } else {
                LogFormat::Pretty
            });
        }
        _ => {}
    }
}

/// A decimal number as `Number()` reads one; `None` for anything else.
fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() || text.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn values_are_taken_even_when_they_look_like_flags() {
        let a = args(&[
            "--token",
            "--verbose",
            "--unknown",
            "x",
            "--workspace",
            "a",
            "--workspace",
            "b",
        ]);
        assert_eq!(a.overrides.token.as_deref(), Some("--verbose"));
        assert!(!a.verbose);
        assert_eq!(a.overrides.workspaces, ["a", "b"]);
    }

    #[test]
    fn invalid_values_are_ignored_like_the_reference() {
        let a = args(&[
            "--port",
            "abc",
            "--approval",
            "sometimes",
            "--approval-timeout",
            "soon",
        ]);
        assert_eq!(a.overrides.port, None);
        assert_eq!(a.overrides.approval_mode, None);
        assert_eq!(a.overrides.approval_timeout_ms, None);
        assert!(a.errors.is_empty());
    }

    #[test]
    fn out_of_range_ports_are_errors_naming_the_flag() {
        let a = args(&["--port", "99999"]);
        assert_eq!(a.errors, ["--port 99999: not a port number (0-65535)"]);
        assert_eq!(args(&["--port", "0"]).overrides.port, Some(0));
    }

    #[test]
    fn log_format_is_json_only_when_exactly_json() {
        assert_eq!(
            args(&["--log-format", "json"]).overrides.log_format,
            Some(LogFormat::Json)
        );
        assert_eq!(
            args(&["--log-format", "JSON"]).overrides.log_format,
            Some(LogFormat::Pretty)
        );
    }

    #[test]
    fn lists_and_switches() {
        let a = args(&[
            "--cors",
            "http://a;http://b",
            "--read-only",
            "--no-log-requests",
            "-h",
            "--version",
        ]);
        assert_eq!(a.overrides.cors_origins.unwrap(), ["http://a", "http://b"]);
        assert_eq!(a.overrides.read_only, Some(true));
        assert_eq!(a.overrides.log_requests, Some(false));
        assert!(a.help && a.version);
    }

    #[test]
    fn a_trailing_value_option_is_ignored() {
        let a = args(&["--verbose", "--host"]);
        assert!(a.verbose);
        assert_eq!(a.overrides.host, None);
    }
}
