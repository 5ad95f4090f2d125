//! The export's sensitivity gate (contract §7.1, Addendum item 3): which OpenCode config
//! sections and plugin/tool files look like they hold credentials, the warnings a client
//! shows before deciding, and the `exclude` filter that drops the flagged values.
//!
//! Key names and values are checked as the reference checks them (text patterns live in
//! [`text`]); the signal names and their order feed the warning text, so they match the
//! reference's exactly.

use http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{PortableFile, is_code_path, js_trim};
use crate::error::ApiError;
use text::{looks_like_generic_secret, string_signals};

mod text;

/// What `?sensitive=` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SensitiveMode {
    /// Refuse with 409 when anything looks sensitive (the default).
    Auto,
    /// Export everything.
    Include,
    /// Drop what looks sensitive.
    Exclude,
}

impl SensitiveMode {
    /// Parses the query value: missing or blank is `auto`; anything else unknown is
    /// `400 invalid_workspace_export_sensitive_mode`.
    pub(crate) fn parse(input: Option<&str>) -> Result<Self, ApiError> {
        match js_trim(input.unwrap_or_default()) {
            "" | "auto" => Ok(Self::Auto),
            "include" => Ok(Self::Include),
            "exclude" => Ok(Self::Exclude),
            other => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_workspace_export_sensitive_mode",
                format!("Invalid workspace export sensitive mode: {other}"),
            )),
        }
    }
}

/// One reason an export needs a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ExportWarning {
    /// `mcp-config`, `plugin-config`, `provider-config`, `config-<section>` or
    /// `portable-file:<path>`.
    pub(crate) id: String,
    /// What the client shows as the item's name.
    pub(crate) label: String,
    /// E.g. "Contains secret-like MCP config: Bearer."
    pub(crate) detail: String,
}

/// Signal names found, first occurrence first, without repeats.
#[derive(Debug, Default)]
struct Signals(Vec<&'static str>);

impl Signals {
    fn add(&mut self, signal: &'static str) {
        if !self.0.contains(&signal) {
            self.0.push(signal);
        }
    }

    fn extend(&mut self, other: Signals) {
        for signal in other.0 {
            self.add(signal);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The warnings for an export: every top-level section of the raw project config (even
/// ones that are not exported) and every plugin or tool file, in that order.
pub(crate) fn collect_warnings(
    raw_opencode: &Map<String, Value>,
    files: &[PortableFile],
) -> Vec<ExportWarning> {
    let mut warnings: Vec<ExportWarning> = Vec::new();
    let mut put = |warning: ExportWarning| match warnings.iter_mut().find(|w| w.id == warning.id) {
        Some(existing) => *existing = warning,
        None => warnings.push(warning),
    };
    for (section, value) in raw_opencode {
        let signals = value_signals(value, None);
        if signals.is_empty() {
            continue;
        }
        let (id, label, intro) = match section.as_str() {
            "mcp" => ("mcp-config".into(), "MCP servers".into(), "MCP"),
            "plugin" => ("plugin-config".into(), "Plugin settings".into(), "plugin"),
            "provider" => (
                "provider-config".into(),
                "Provider settings".into(),
                "provider",
            ),
            other => (format!("config-{other}"), section_label(other), other),
        };
        put(ExportWarning {
            id,
            label,
            detail: describe(&format!("Contains secret-like {intro} config"), &signals),
        });
    }
    for file in files {
        let path = js_trim(&file.path);
        if path.is_empty() || !is_code_path(path) {
            continue;
        }
        let signals = string_signals(&file.content);
        if signals.is_empty() {
            continue;
        }
        put(ExportWarning {
            id: format!("portable-file:{path}"),
            label: path.to_owned(),
            detail: describe("Contains secret-like file content", &signals),
        });
    }
    warnings
}

/// `exclude` mode: drops every flagged value from the (portable) config — recursively,
/// removing objects and arrays left empty and sections left empty — and every flagged
/// plugin or tool file. Agent files are never flagged.
pub(crate) fn strip_sensitive(
    opencode: &Map<String, Value>,
    files: Vec<PortableFile>,
) -> (Map<String, Value>, Vec<PortableFile>) {
    let mut kept = Map::new();
    for (section, value) in opencode {
        match sanitize(value, None) {
            None => {}
            Some(Value::Object(map)) if map.is_empty() => {}
            Some(Value::Array(items)) if items.is_empty() => {}
            Some(value) => {
                kept.insert(section.clone(), value);
            }
        }
    }
    let files = files
        .into_iter()
        .filter(|file| {
            !is_code_path(js_trim(&file.path)) || string_signals(&file.content).is_empty()
        })
        .collect();
    (kept, files)
}

/// "intro: a, b, c, d, ...." naming at most four signals.
fn describe(intro: &str, signals: &Signals) -> String {
    let shown = signals
        .0
        .iter()
        .take(4)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let more = if signals.0.len() > 4 { ", ..." } else { "" };
    format!("{intro}: {shown}{more}.")
}

/// A section key as a label: `fooBar_baz--qux` → "Foo Bar baz qux".
fn section_label(key: &str) -> String {
    let mut label = String::with_capacity(key.len() + 4);
    let mut in_separator_run = false;
    for c in split_camel(key).chars() {
        // Runs of `-`/`_` become one space, as `/[-_]+/g` does.
        let separator = matches!(c, '-' | '_');
        if !separator {
            label.push(c);
        } else if !in_separator_run {
            label.push(' ');
        }
        in_separator_run = separator;
    }
    let mut chars = label.chars();
    match chars.next() {
        // `/^./` matches one UTF-16 unit and never a line terminator.
        Some(first)
            if first.len_utf16() == 1
                && !matches!(first, '\n' | '\r' | '\u{2028}' | '\u{2029}') =>
        {
            first.to_uppercase().chain(chars).collect()
        }
        _ => label,
    }
}

/// Inserts a space between a lowercase letter or digit and the uppercase letter after it.
fn split_camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut previous: Option<char> = None;
    for c in key.chars() {
        if previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
            && c.is_ascii_uppercase()
        {
            out.push(' ');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// A key name as lowercase ASCII words: `clientSecret` → ["client", "secret"].
fn name_tokens(key: &str) -> Vec<String> {
    split_camel(key)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|token| !token.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Signals from a key name, given the value stored under it.
fn key_signals(key: &str, value: &Value) -> Signals {
    let tokens = name_tokens(key);
    let mut found = Signals::default();
    if tokens.is_empty() {
        return found;
    }
    let has = |word: &str| tokens.iter().any(|t| t == word);
    let joined = tokens.concat();
    let checks: [(&'static str, bool); 8] = [
        (
            "apiKey",
            joined.contains("apikey") || (has("api") && has("key")),
        ),
        ("key", tokens.len() == 1 && joined == "key"),
        (
            "token",
            has("token")
                || joined.contains("authtoken")
                || joined.contains("accesstoken")
                || joined.contains("refreshtoken"),
        ),
        ("Bearer", has("bearer") || joined.contains("authorization")),
        ("secret", has("secret") || (has("client") && has("secret"))),
        ("password", has("password") || joined.contains("passwd")),
        (
            "credentials",
            has("credential") || has("credentials") || joined.contains("credential"),
        ),
        ("privateKey", has("private") && has("key")),
    ];
    for (signal, hit) in checks {
        if hit {
            found.add(signal);
        }
    }
    if has("public") && has("key") {
        found.0.retain(|signal| *signal != "privateKey");
        return found;
    }
    // A bare `key` is only a secret when its value looks like one (`key: "gpt-4"` is not).
    if tokens.len() == 1 && tokens[0] == "key" {
        let secret_like = value.as_str().is_some_and(looks_like_generic_secret);
        if !secret_like {
            return Signals::default();
        }
    }
    found
}

/// Signals of a value and everything inside it; `key` is the name it is stored under.
fn value_signals(value: &Value, key: Option<&str>) -> Signals {
    let mut found = Signals::default();
    if let Some(key) = key.filter(|k| !k.is_empty()) {
        found.extend(key_signals(key, value));
    }
    match value {
        Value::String(text) => found.extend(string_signals(text)),
        Value::Array(items) => {
            for item in items {
                found.extend(value_signals(item, None));
            }
        }
        Value::Object(map) => {
            for (child_key, child) in map {
                found.extend(value_signals(child, Some(child_key)));
            }
        }
        _ => {}
    }
    found
}

/// The value without its flagged parts; `None` when the value itself is flagged.
fn sanitize(value: &Value, key: Option<&str>) -> Option<Value> {
    let mut direct = Signals::default();
    if let Some(key) = key.filter(|k| !k.is_empty()) {
        direct.extend(key_signals(key, value));
    }
    if let Value::String(text) = value {
        direct.extend(string_signals(text));
        return direct.is_empty().then(|| value.clone());
    }
    if !direct.is_empty() {
        return None;
    }
    match value {
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(|item| sanitize(item, None))
                .collect(),
        )),
        Value::Object(map) => {
            let mut kept = Map::new();
            for (child_key, child) in map {
                match sanitize(child, Some(child_key)) {
                    None => {}
                    Some(Value::Array(items)) if items.is_empty() => {}
                    Some(Value::Object(inner)) if inner.is_empty() => {}
                    Some(clean) => {
                        kept.insert(child_key.clone(), clean);
                    }
                }
            }
            Some(Value::Object(kept))
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests;
