//! The reference's value coercions: JavaScript `Number()`, its list syntax and its boolean
//! spellings. Each setting applies the one the contract names for it (§2.3).

use serde::Deserialize;

/// A config-file value the reference passes through `Number()`: a JSON number or a string.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
#[serde(untagged)]
pub(crate) enum NumberLike {
    /// A JSON number.
    Number(f64),
    /// Text, converted the way `Number()` converts it.
    Text(String),
}

impl NumberLike {
    /// The value as JavaScript's `Number()` would see it; `None` stands for `NaN`.
    pub(crate) fn to_number(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n).filter(|n| n.is_finite()),
            Self::Text(text) => js_number(text),
        }
    }
}

/// A config-file flag: a JSON boolean or one of the accepted spellings.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
#[serde(untagged)]
pub(crate) enum BoolLike {
    /// A JSON boolean.
    Bool(bool),
    /// Text such as `"true"` or `"0"`.
    Text(String),
}

impl BoolLike {
    /// `true` for `true` and the truthy spellings; everything else is `false`.
    pub(crate) fn is_true(&self) -> bool {
        match self {
            Self::Bool(b) => *b,
            Self::Text(text) => parse_switch(text) == Some(true),
        }
    }
}

/// JavaScript's `Number(text)`: decimal (`"8787"`, `" 1e3 "`, `".5"`) and the unsigned
/// `0x`/`0o`/`0b` forms; blank text is `0`. `None` stands for `NaN`, and also for the
/// infinities, which no setting can use.
pub(crate) fn js_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return Some(0.0);
    }
    let radix = match text.get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("0x") => Some(16),
        Some("0o") => Some(8),
        Some("0b") => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        return u64::from_str_radix(&text[2..], radix)
            .ok()
            .map(|n| n as f64);
    }
    // `f64::from_str` accepts "inf"/"nan" spellings that `Number()` rejects.
    if text
        .chars()
        .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Parses `true/1/yes/on` and `false/0/no/off` (trimmed, any case); anything else is `None`.
pub(crate) fn parse_switch(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A feature switch read per request (`OPENWORK_INBOX_ENABLED`, `OPENWORK_TOY_UI`, …):
/// unset or blank means on; otherwise on only for `1/true/yes/on`.
pub fn switch_default_on(value: Option<&str>) -> bool {
    match value.map(str::trim) {
        None | Some("") => true,
        Some(text) => parse_switch(text) == Some(true),
    }
}

/// The list syntax of `OPENWORK_WORKSPACES`, `OPENWORK_CORS_ORIGINS` and `--cors`:
/// a JSON array when the text starts with `[` (invalid JSON gives an empty list),
/// otherwise items separated by `,` or `;`. Items are trimmed and empties dropped.
pub fn parse_list(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    if text.starts_with('[') {
        let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(text)
        else {
            return Vec::new();
        };
        return items
            .into_iter()
            .map(|item| match item {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
    }
    text.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_commas_and_semicolons() {
        assert_eq!(parse_list(" a, b;c ;; "), ["a", "b", "c"]);
        assert_eq!(parse_list(""), Vec::<String>::new());
    }

    #[test]
    fn lists_in_json_syntax_stringify_items_and_drop_empties() {
        assert_eq!(parse_list(r#"["/a", " ", 3, "b"]"#), ["/a", "3", "b"]);
        assert_eq!(parse_list("[not json"), Vec::<String>::new());
    }

    #[test]
    fn numbers_follow_javascript() {
        assert_eq!(js_number("8787"), Some(8787.0));
        assert_eq!(js_number(" 1e3 "), Some(1000.0));
        assert_eq!(js_number("abc"), None);
        assert_eq!(js_number("Infinity"), None);
        assert_eq!(js_number("12px"), None);
        assert_eq!(js_number("0x1F90"), Some(8080.0));
        assert_eq!(js_number("0o17"), Some(15.0));
        assert_eq!(js_number("0B101"), Some(5.0));
        assert_eq!(js_number("-0x10"), None);
        assert_eq!(js_number("0x"), None);
    }

    #[test]
    fn switches_accept_the_documented_spellings() {
        assert_eq!(parse_switch(" YES "), Some(true));
        assert_eq!(parse_switch("off"), Some(false));
        assert_eq!(parse_switch("banana"), None);
        assert!(switch_default_on(None));
        assert!(switch_default_on(Some(" ")));
        assert!(!switch_default_on(Some("banana")));
    }
}
