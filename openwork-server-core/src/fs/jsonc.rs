//! JSONC (JSON with comments and trailing commas) as OpenCode reads it: parsing to a value,
//! and edits that keep every comment, comma, key order and byte outside the edited value.
//! Errors carry the names, offsets and lengths clients of the reference expect
//! (`ValueExpected`, `CommaExpected`, …).

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use jsonc_parser::errors::{ParseError, ParseErrorKind};
use serde_json::{Map, Value, json};

/// A parse error as `{code, offset, length}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) struct JsoncError {
    /// The error name, e.g. `ValueExpected`.
    pub(crate) code: &'static str,
    /// Byte offset of the error.
    pub(crate) offset: usize,
    /// Length of the offending text.
    pub(crate) length: usize,
}

impl JsoncError {
    /// `422 invalid_jsonc` with this error as the one detail.
    pub(crate) fn into_api_error(self) -> crate::error::ApiError {
        crate::error::ApiError::new(
            http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_jsonc",
            "Failed to parse JSONC",
        )
        .with_details(json!([self]))
    }
}

/// Comments and trailing commas, nothing else beyond JSON (as OpenCode's own parser).
fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

fn convert(error: &ParseError, text: &str) -> JsoncError {
    use ParseErrorKind as K;
    let code = match error.kind() {
        K::ExpectedColonAfterObjectKey => "ColonExpected",
        K::ExpectedObjectValue
        | K::UnexpectedCloseBrace
        | K::UnexpectedCloseBracket
        | K::UnexpectedComma
        | K::TrailingCommasNotAllowed => "ValueExpected",
        K::ExpectedDigit
        | K::ExpectedDigitFollowingNegativeSign
        | K::ExpectedPlusMinusOrDigitInNumberLiteral
        | K::BareDecimalPointNumbersNotAllowed
        | K::HexadecimalNumbersNotAllowed
        | K::UnaryPlusNumbersNotAllowed
        | K::NonFiniteNumbersNotAllowed => "InvalidNumberFormat",
        K::ExpectedStringObjectProperty => "PropertyNameExpected",
        K::ExpectedComma => "CommaExpected",
        K::MultipleRootJsonValues => "EndOfFileExpected",
        K::UnterminatedArray => "CloseBracketExpected",
        K::UnterminatedObject => "CloseBraceExpected",
        K::UnterminatedCommentBlock => "UnexpectedEndOfComment",
        K::CommentsNotAllowed => "InvalidCommentToken",
        K::String(kind) => match kind {
            jsonc_parser::ParseStringErrorKind::UnterminatedStringLiteral => {
                "UnexpectedEndOfString"
            }
            jsonc_parser::ParseStringErrorKind::InvalidUnicodeEscapeSequence(_)
            | jsonc_parser::ParseStringErrorKind::ExpectedFourHexDigits => "InvalidUnicode",
            _ => "InvalidEscapeCharacter",
        },
        _ => "InvalidSymbol",
    };
    let range = error.range();
    // The reference reports a missing value at the token that stands where the value
    // should be, not at the whitespace before it.
    let start = match code {
        "ValueExpected" => text[range.start.min(text.len())..]
            .find(|c: char| !c.is_whitespace())
            .map_or(range.start, |skip| range.start + skip),
        _ => range.start,
    };
    JsoncError {
        code,
        offset: start,
        length: range.end.saturating_sub(start).max(1),
    }
}

/// Parses a JSONC document. An empty (or comment-only) document is `Null`.
pub(crate) fn parse(text: &str) -> Result<Value, JsoncError> {
    match jsonc_parser::parse_to_serde_value::<Option<Value>>(text, &options()) {
        Ok(value) => Ok(value.unwrap_or(Value::Null)),
        Err(error) => Err(convert(&error, text)),
    }
}

/// Parses a JSONC document whose top level should be an object; anything else reads as `{}`.
pub(crate) fn parse_object(text: &str) -> Result<Map<String, Value>, JsoncError> {
    Ok(match parse(text)? {
        Value::Object(map) => map,
        _ => Map::new(),
    })
}

/// An in-place editor over a JSONC document's text.
pub(crate) struct JsoncDocument {
    root: CstRootNode,
}

impl JsoncDocument {
    /// Parses `text` for editing. Empty text starts an empty object.
    pub(crate) fn parse(text: &str) -> Result<Self, JsoncError> {
        // Validate with the strict options first: the CST parser is more permissive.
        parse(text)?;
        let root = CstRootNode::parse(text, &options()).map_err(|e| convert(&e, text))?;
        Ok(Self { root })
    }

    fn root_object(&self) -> CstObject {
        self.root.object_value_or_set()
    }

    /// Sets a top-level key, replacing its value wholesale (appended when absent).
    pub(crate) fn set(&mut self, key: &str, value: &Value) {
        set_in(&self.root_object(), key, value);
    }

    /// Sets a nested key (`["permission", "external_directory"]`), creating objects on the
    /// way and keeping every sibling.
    pub(crate) fn set_path(&mut self, path: &[&str], value: &Value) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut object = self.root_object();
        for key in parents {
            object = match object.get(key) {
                Some(prop) => match prop.value().and_then(|v| v.as_object()) {
                    Some(child) => child,
                    None => {
                        prop.set_value(to_input(&json!({})));
                        match prop.value().and_then(|v| v.as_object()) {
                            Some(child) => child,
                            None => return,
                        }
                    }
                },
                None => {
                    let prop = object.append(key, to_input(&json!({})));
                    match prop.value().and_then(|v| v.as_object()) {
                        Some(child) => child,
                        None => return,
                    }
                }
            };
        }
        set_in(&object, last, value);
    }

    /// The edited text.
    pub(crate) fn to_text(&self) -> String {
        self.root.to_string()
    }
}

fn set_in(object: &CstObject, key: &str, value: &Value) {
    match object.get(key) {
        Some(prop) => prop.set_value(to_input(value)),
        None => {
            object.append(key, to_input(value));
        }
    }
}

fn to_input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(to_input).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), to_input(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comments_and_trailing_commas() {
        let value = parse("{\n  // c\n  \"a\": [1, 2,],\n  /* d */ \"b\": true,\n}").unwrap();
        assert_eq!(value, json!({"a": [1, 2], "b": true}));
        assert_eq!(parse("").unwrap(), Value::Null);
    }

    #[test]
    fn errors_name_the_problem_and_its_position() {
        let error = parse("{\n  \"$schema\": \"x\",\n  \"mcp\": \n}").unwrap_err();
        assert_eq!(error.code, "ValueExpected");
        assert_eq!((error.offset, error.length), (30, 1));
        let error = parse("{\"a\": 1 \"b\": 2}").unwrap_err();
        assert_eq!(error.code, "CommaExpected");
        assert!(parse("{'a': 1}").is_err());
    }

    #[test]
    fn edits_keep_everything_outside_the_edited_value() {
        let text = "{\n  // keep me\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"mcp\": {\n    \"a\": { \"type\": \"local\" }, // trailing\n  },\n  \"model\": \"x\", /* tail */\n}\n";
        let mut doc = JsoncDocument::parse(text).unwrap();
        doc.set("model", &json!("y"));
        doc.set("plugin", &json!(["p"]));
        let out = doc.to_text();
        assert!(out.starts_with("{\n  // keep me\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"mcp\": {\n    \"a\": { \"type\": \"local\" }, // trailing\n  },\n  \"model\": \"y\", /* tail */"), "{out}");
        assert_eq!(
            parse(&out).unwrap(),
            json!({"$schema": "https://opencode.ai/config.json", "mcp": {"a": {"type": "local"}}, "model": "y", "plugin": ["p"]})
        );
    }

    #[test]
    fn nested_sets_keep_siblings() {
        let mut doc =
            JsoncDocument::parse("{\n  \"permission\": { \"edit\": \"ask\" }\n}").unwrap();
        doc.set_path(&["permission", "external_directory"], &json!("allow"));
        assert_eq!(
            parse(&doc.to_text()).unwrap(),
            json!({"permission": {"edit": "ask", "external_directory": "allow"}})
        );
        let mut doc = JsoncDocument::parse("{}").unwrap();
        doc.set_path(&["permission", "external_directory"], &json!("deny"));
        assert_eq!(
            parse(&doc.to_text()).unwrap(),
            json!({"permission": {"external_directory": "deny"}})
        );
    }
}
