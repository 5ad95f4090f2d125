//! The `/w/:id/` mount (contract §4.0 steps 2–5): `/w/<id>/workspace/<id>/…` is served as
//! `/workspace/<id>/…` when both ids agree and is a 404 otherwise; other mounted paths keep
//! their path and only match the explicit `/w/{id}/…` routes.

use axum::extract::Request;
use axum::http::Uri;
use percent_encoding::percent_decode_str;

use crate::error::ApiError;

/// Splits `/w/<id>/<rest>` into the raw id and `/<rest>`.
fn split_mount(path: &str) -> Option<(&str, &str)> {
    let after = path.strip_prefix("/w/")?;
    let slash = after.find('/')?;
    let (id, rest) = after.split_at(slash);
    (!id.is_empty()).then_some((id, rest))
}

/// Percent-decodes a path segment; malformed encodings are a `400 invalid_path` (D9).
pub(crate) fn decode_segment(raw: &str) -> Result<String, ApiError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| invalid_encoding())
}

/// The error for a path that is not valid percent-encoded UTF-8.
pub(crate) fn invalid_encoding() -> ApiError {
    ApiError::new(
        http::StatusCode::BAD_REQUEST,
        "invalid_path",
        "Invalid percent-encoding in path",
    )
}

/// Rewrites `/w/<id>/workspace/<id>/…` to `/workspace/<id>/…`; the error is the answer
/// when the two ids differ or do not decode.
pub(super) fn rewrite_mounted(request: &mut Request) -> Result<(), ApiError> {
    let path = request.uri().path();
    let Some((raw_id, rest)) = split_mount(path) else {
        return Ok(());
    };
    let Some(nested) = rest.strip_prefix("/workspace/") else {
        return Ok(());
    };
    let nested_raw = nested.split('/').next().unwrap_or_default();
    if decode_segment(raw_id)? != decode_segment(nested_raw)? {
        return Err(ApiError::not_found());
    }
    let rewritten = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    *request.uri_mut() = rewritten
        .parse::<Uri>()
        .map_err(|_| ApiError::not_found())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_only_paths_with_an_id_and_a_rest() {
        assert_eq!(split_mount("/w/ws_1/health"), Some(("ws_1", "/health")));
        assert_eq!(split_mount("/w/ws_1/"), Some(("ws_1", "/")));
        assert_eq!(split_mount("/w/ws_1"), None);
        assert_eq!(split_mount("/w/"), None);
        assert_eq!(split_mount("/w//x"), None);
        assert_eq!(split_mount("/workspaces"), None);
    }
}
