//! The sessions read model over OpenCode (contract Appendix A, `/workspace/:id/sessions*`):
//! which query parameters are accepted and forwarded, and which upstream answers are
//! shaped like sessions, messages, todos and statuses. Anything else from OpenCode is
//! reported as an invalid response rather than passed on.

use axum::http::StatusCode;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use crate::error::ApiError;

/// `400 invalid_query` with `message`.
fn invalid_query(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
}

/// `502 opencode_invalid_response` with `message`.
pub(crate) fn invalid_response(message: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "opencode_invalid_response",
        message,
    )
}

/// The `key=value` pairs of a raw query string, decoded as `URLSearchParams` does (`+` is a
/// space). A pair that is not valid UTF-8 after decoding is an invalid query.
pub(crate) fn parse_query(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |text: &str| {
        percent_decode_str(&text.replace('+', " "))
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| invalid_query("Query string is not valid UTF-8".to_owned()))
    };
    raw.unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(key)?, decode(value)?))
        })
        .collect()
}

/// The first non-blank value of `key` (trimmed); an empty parameter counts as absent.
fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A non-negative integer written in decimal digits only (no sign, no fraction).
fn integer(value: &str) -> Option<u64> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse().ok()
    } else {
        None
    }
}

/// `limit`: a positive integer, else `400 invalid_query`.
pub(crate) fn limit(pairs: &[(String, String)]) -> Result<Option<String>, ApiError> {
    first(pairs, "limit")
        .map(|value| match integer(value) {
            Some(n) if n > 0 => Ok(n.to_string()),
            _ => Err(invalid_query(format!(
                "limit must be a positive integer, got {value:?}"
            ))),
        })
        .transpose()
}

/// The parameters of the session list, checked and normalised, in the order OpenCode is
/// sent them: `roots` (`true`/`false`), `start` (ms timestamp), `search`, `limit`.
pub(crate) fn list_query(
    pairs: &[(String, String)],
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let mut query = Vec::new();
    if let Some(value) = first(pairs, "roots") {
        let roots = match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => "true",
            "false" | "0" | "no" => "false",
            _ => {
                return Err(invalid_query(format!(
                    "roots must be true or false, got {value:?}"
                )));
            }
        };
        query.push(("roots", roots.to_owned()));
    }
    if let Some(value) = first(pairs, "start") {
        let start = integer(value).ok_or_else(|| {
            invalid_query(format!(
                "start must be a non-negative integer, got {value:?}"
            ))
        })?;
        query.push(("start", start.to_string()));
    }
    // The search text is free-form; it is forwarded as typed (untrimmed).
    if let Some((_, value)) = pairs
        .iter()
        .find(|(k, v)| k == "search" && !v.trim().is_empty())
    {
        query.push(("search", value.clone()));
    }
    if let Some(limit) = limit(pairs)? {
        query.push(("limit", limit));
    }
    Ok(query)
}

/// A session: an object with a string `id`.
fn is_session(value: &Value) -> bool {
    value.get("id").is_some_and(Value::is_string)
}

/// Parses an upstream body as JSON; anything else is `None`.
fn json_body(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// The session list: an array of sessions, else `502` "OpenCode returned invalid session list".
pub(crate) fn session_list(body: &[u8]) -> Result<Value, ApiError> {
    match json_body(body) {
        Some(Value::Array(items)) if items.iter().all(is_session) => Ok(Value::Array(items)),
        _ => Err(invalid_response("OpenCode returned invalid session list")),
    }
}

/// One session, else `502` "OpenCode returned invalid session".
pub(crate) fn session(body: &[u8]) -> Result<Value, ApiError> {
    match json_body(body) {
        Some(value) if is_session(&value) => Ok(value),
        _ => Err(invalid_response("OpenCode returned invalid session")),
    }
}

/// The messages of a session: an array of `{info: object, parts: array}`, reduced to those
/// two fields, else `502` "OpenCode returned invalid session messages".
pub(crate) fn messages(body: &[u8]) -> Result<Value, ApiError> {
    let invalid = || invalid_response("OpenCode returned invalid session messages");
    let Some(Value::Array(items)) = json_body(body) else {
        return Err(invalid());
    };
    items
        .into_iter()
        .map(|mut item| {
            let info = item.get_mut("info").map(Value::take);
            let parts = item.get_mut("parts").map(Value::take);
            match (info, parts) {
                (Some(info @ Value::Object(_)), Some(parts @ Value::Array(_))) => {
                    Ok(json!({ "info": info, "parts": parts }))
                }
                _ => Err(invalid()),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// The todo list of a session: an array, else `502` "OpenCode returned invalid todo list".
pub(crate) fn todos(body: &[u8]) -> Result<Value, ApiError> {
    match json_body(body) {
        Some(value @ Value::Array(_)) => Ok(value),
        _ => Err(invalid_response("OpenCode returned invalid todo list")),
    }
}

/// The status of `session_id` from OpenCode's status map. OpenCode lists only busy or
/// retrying sessions, so a session absent from the map is idle.
pub(crate) fn status_of(body: &[u8], session_id: &str) -> Result<Value, ApiError> {
    let Some(Value::Object(mut statuses)) = json_body(body) else {
        return Err(invalid_response("OpenCode returned invalid session status"));
    };
    Ok(statuses
        .remove(session_id)
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({ "type": "idle" })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        parse_query(Some(raw)).unwrap()
    }

    fn code_and_message(error: ApiError) -> (u16, String, String) {
        (
            error.status.as_u16(),
            error.code.into_owned(),
            error.message.into_owned(),
        )
    }

    #[test]
    fn queries_decode_like_url_search_params() {
        assert_eq!(
            pairs("search=a+b%26c&&limit=&x"),
            vec![
                ("search".to_owned(), "a b&c".to_owned()),
                ("limit".to_owned(), String::new()),
                ("x".to_owned(), String::new()),
            ]
        );
        assert_eq!(parse_query(None).unwrap(), vec![]);
        assert_eq!(
            parse_query(Some("a=%FF")).unwrap_err().code,
            "invalid_query"
        );
    }

    #[test]
    fn list_parameters_are_checked_normalised_and_ordered() {
        let query = list_query(&pairs("limit=07&search=+hi+&start=0&roots=TRUE&other=1")).unwrap();
        let expected: Vec<(&str, String)> = vec![
            ("roots", "true".into()),
            ("start", "0".into()),
            ("search", " hi ".into()),
            ("limit", "7".into()),
        ];
        assert_eq!(query, expected);
        assert_eq!(list_query(&pairs("limit=&roots=")).unwrap(), vec![]);
        for bad in [
            "roots=maybe",
            "start=-1",
            "start=1.5",
            "limit=0",
            "limit=-3",
            "limit=ten",
        ] {
            let (status, code, _) = code_and_message(list_query(&pairs(bad)).unwrap_err());
            assert_eq!((status, code.as_str()), (400, "invalid_query"), "{bad}");
        }
        assert_eq!(
            code_and_message(limit(&pairs("limit=x")).unwrap_err()).2,
            "limit must be a positive integer, got \"x\""
        );
    }

    #[test]
    fn upstream_shapes_are_validated() {
        assert_eq!(
            session_list(br#"[{"id":"ses_1","title":"t"}]"#).unwrap(),
            json!([{"id":"ses_1","title":"t"}])
        );
        for bad in [&b"{}"[..], b"[{\"id\":1}]", b"[1]", b"not json", b""] {
            assert_eq!(
                code_and_message(session_list(bad).unwrap_err()),
                (
                    502,
                    "opencode_invalid_response".to_owned(),
                    "OpenCode returned invalid session list".to_owned()
                )
            );
        }
        assert!(session(br#"{"id":"s"}"#).is_ok());
        assert!(session(b"[]").is_err());
        assert_eq!(
            messages(br#"[{"info":{"id":"m"},"parts":[],"extra":1}]"#).unwrap(),
            json!([{"info":{"id":"m"},"parts":[]}])
        );
        assert!(messages(br#"[{"info":{"id":"m"}}]"#).is_err());
        assert!(todos(b"[]").is_ok());
        assert!(todos(b"{}").is_err());
    }

    #[test]
    fn a_session_missing_from_the_status_map_is_idle() {
        assert_eq!(
            status_of(br#"{"a":{"type":"busy"}}"#, "a").unwrap(),
            json!({"type":"busy"})
        );
        assert_eq!(status_of(b"{}", "a").unwrap(), json!({"type":"idle"}));
        assert!(status_of(b"[]", "a").is_err());
    }
}
