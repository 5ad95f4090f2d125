//! Plugins (contract §4.8): `GET/POST /workspace/:id/plugins` and
//! `DELETE /workspace/:id/plugins/:name` over the project config's `plugin` list (edited in
//! place, comments kept) and the plugin folders.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Map, Value, json};
use std::path::Path;

use super::guard::{ReadAccess, WriteAccess};
use super::openapi::errors;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use crate::error::ApiError;
use crate::events::{ReloadReason, ReloadTrigger};
use crate::fs::jsonc;
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::resources::plugins::{
    LOAD_ORDER, PluginDir, PluginList, config_items, config_text_with, dir_items, normalize_spec,
    specs_from_config, validate_spec, with_added, without,
};
use crate::state::AppState;
use crate::workspace::Workspace;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plugins, add_plugin))
        .routes(routes!(remove_plugin))
}

/// JavaScript's `String(value ?? "")`, how the reference reads text fields of a body.
pub(super) fn js_string(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => match n.as_f64() {
            // Whole floats print without a fraction, as JavaScript numbers do.
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => {
                format!("{f:.0}")
            }
            _ => n.to_string(),
        },
        // `String([a, b])` joins the elements' strings with commas; `null` becomes "".
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| js_string(Some(item)))
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(_)) => "[object Object]".to_owned(),
    }
}

/// The first value of `key` in a query string, decoded as `URLSearchParams.get` does.
fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(&text.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(name) == key).then(|| decode(value))
    })
}

/// A path as it appears in approval requests.
pub(super) fn path_string(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The project config's text, `None` when it does not exist.
pub(super) fn read_config_text(path: &Path) -> Result<Option<String>, ApiError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// The config text parsed as an object (`{}` when absent); a parse error is
/// `422 invalid_jsonc`.
pub(super) fn parse_config_text(text: Option<&str>) -> Result<Map<String, Value>, ApiError> {
    match text {
        Some(text) => jsonc::parse_object(text).map_err(|e| e.into_api_error()),
        None => Ok(Map::new()),
    }
}

/// The listing: config entries, project plugin files and, on request, global ones.
async fn plugin_list(
    state: &AppState,
    workspace: &Workspace,
    include_global: bool,
) -> Result<PluginList, ApiError> {
    let config = state.read_jsonc_object(&workspace.project_config_path())?;
    let mut items = config_items(&specs_from_config(&config));
    let root = workspace.root().to_owned();
    let global_dir = include_global.then(|| state.global_opencode_dir().join("plugins"));
    let files = tokio::task::spawn_blocking(move || {
        let mut files = dir_items(
            &root.join(".opencode").join("plugins"),
            PluginDir::Project,
            &root,
        )?;
        if let Some(dir) = global_dir {
            files.extend(dir_items(&dir, PluginDir::Global, &root)?);
        }
        Ok::<_, std::io::Error>(files)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    items.extend(files);
    Ok(PluginList {
        items,
        load_order: LOAD_ORDER,
    })
}

/// Lists the workspace's plugins; `?includeGlobal=true` (exactly) adds the global folder.
#[utoipa::path(
    get,
    path = "/workspace/{id}/plugins",
    summary = "List plugins",
    tag = "plugins",
    params(WorkspaceId, ("includeGlobal" = Option<String>, Query, description = "`true` (exactly) also lists the host user's global ones")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "Config entries, then plugin files", body = schemas::workspace::PluginList),
        (status = 422, description = errors::JSONC_UNPARSEABLE, body = ErrorBody),
    ),
)]
async fn list_plugins(
    State(state): State<AppState>,
    access: ReadAccess,
    RawQuery(query): RawQuery,
) -> Result<Json<PluginList>, ApiError> {
    let include_global = query_value(query.as_deref(), "includeGlobal").as_deref() == Some("true");
    Ok(Json(
        plugin_list(&state, &access.workspace, include_global).await?,
    ))
}

/// Rewrites the `plugin` list with `edit` under the file's lock; `false` when `edit` left
/// it as it was (nothing is written then).
async fn edit_plugins(
    access: &WriteAccess,
    path: &Path,
    edit: impl FnOnce(Vec<String>) -> Option<Vec<String>>,
) -> Result<bool, ApiError> {
    let _lock = access.state.file_locks.lock(path).await;
    let existing = read_config_text(path)?;
    let specs = specs_from_config(&parse_config_text(existing.as_deref())?);
    let Some(specs) = edit(specs) else {
        return Ok(false);
    };
    let text = config_text_with(existing.as_deref(), "plugin", &json!(specs))?;
    access.write_file(path, text).await?;
    Ok(true)
}

/// Adds a plugin spec to the project config unless one of the same name is there.
#[utoipa::path(
    post,
    path = "/workspace/{id}/plugins",
    summary = "Add a plugin",
    tag = "plugins",
    params(WorkspaceId),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("plugins.add")),
    ),
    request_body = schemas::workspace::PluginAdd,
    responses(
        (status = 200, description = "The project's plugins afterwards", body = schemas::workspace::PluginList),
        (status = 400, description = "- `invalid_plugin_spec`: Plugin spec is required", body = ErrorBody),
        (status = 422, description = errors::JSONC_UNPARSEABLE, body = ErrorBody),
    ),
)]
async fn add_plugin(
    access: WriteAccess,
    JsonObject(body): JsonObject,
) -> Result<Json<PluginList>, ApiError> {
    let spec = js_string(body.get("spec"));
    // D4: the reference validates after approval; we refuse before anyone is asked, with
    // the same error, and check the config can be edited at all.
    validate_spec(&spec)?;
    let path = access.workspace.project_config_path();
    access.state.read_jsonc_object(&path)?;
    access
        .approve(
            "plugins.add",
            format!("Add plugin {spec}"),
            vec![path_string(&path)],
        )
        .await?;

    let changed = edit_plugins(&access, &path, |specs| with_added(specs, &spec)).await?;
    access
        .audit("plugins.add", "opencode.json", format!("Added {spec}"))
        .await;
    if changed {
        let name = normalize_spec(&spec).to_owned();
        access.reload(
            ReloadReason::Plugins,
            Some(ReloadTrigger::new("plugin", Some(name), "added", None)),
        );
    }
    Ok(Json(
        plugin_list(&access.state, &access.workspace, false).await?,
    ))
}

/// Removes every config entry with the name's normalised name; an unknown name is not an
/// error.
#[utoipa::path(
    delete,
    path = "/workspace/{id}/plugins/{name}",
    summary = "Remove a plugin",
    tag = "plugins",
    params(WorkspaceId, ("name" = String, Path, description = "Plugin name or spec (`/` of scoped names as `%2F`)")),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("plugins.remove")),
    ),
    responses(
        (status = 200, description = "The project's plugins afterwards (an unknown name changes nothing)", body = schemas::workspace::PluginList),
        (status = 422, description = errors::JSONC_UNPARSEABLE, body = ErrorBody),
    ),
)]
async fn remove_plugin(
    access: WriteAccess,
    PathParams((_, name)): PathParams<(String, String)>,
) -> Result<Json<PluginList>, ApiError> {
    // SECURITY: the name only selects list entries to drop; it never becomes a path, so it
    // needs no validation (as in the reference).
    let path = access.workspace.project_config_path();
    access.state.read_jsonc_object(&path)?;
    access
        .approve(
            "plugins.remove",
            format!("Remove plugin {name}"),
            vec![path_string(&path)],
        )
        .await?;

    let changed = edit_plugins(&access, &path, |specs| without(specs, &name)).await?;
    access
        .audit("plugins.remove", "opencode.json", format!("Removed {name}"))
        .await;
    if changed {
        let normalized = normalize_spec(&name).to_owned();
        access.reload(
            ReloadReason::Plugins,
            Some(ReloadTrigger::new(
                "plugin",
                Some(normalized),
                "removed",
                None,
            )),
        );
    }
    Ok(Json(
        plugin_list(&access.state, &access.workspace, false).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_fields_read_like_javascript_string() {
        assert_eq!(js_string(None), "");
        assert_eq!(js_string(Some(&json!(null))), "");
        assert_eq!(js_string(Some(&json!(" a "))), " a ");
        assert_eq!(js_string(Some(&json!(12))), "12");
        assert_eq!(js_string(Some(&json!(1.5))), "1.5");
        assert_eq!(js_string(Some(&json!(2.0))), "2");
        assert_eq!(js_string(Some(&json!(true))), "true");
        assert_eq!(js_string(Some(&json!(["a", null, 3]))), "a,,3");
        assert_eq!(js_string(Some(&json!({"a": 1}))), "[object Object]");
    }

    #[test]
    fn query_values_decode_like_url_search_params() {
        let get = |q: &str| query_value(Some(q), "includeGlobal");
        assert_eq!(get("includeGlobal=true").as_deref(), Some("true"));
        assert_eq!(
            get("x=1&includeGlobal=true&includeGlobal=false").as_deref(),
            Some("true")
        );
        assert_eq!(get("include%47lobal=tru%65").as_deref(), Some("true"));
        assert_eq!(get("includeGlobal=TRUE").as_deref(), Some("TRUE"));
        assert_eq!(get("includeGlobal").as_deref(), Some(""));
        assert_eq!(get("includeGlobal=a+b").as_deref(), Some("a b"));
        assert_eq!(query_value(None, "includeGlobal"), None);
    }
}
