//! `GET /workspace/:id/export` (contract §7.1): the workspace's portable configuration —
//! project config reduced to its portable keys, `openwork.json`, project skills with their
//! text, commands and portable files — behind the sensitivity gate. Any scope may export;
//! there is no approval and no audit line.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::guard::ReadAccess;
use super::openapi::errors;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use crate::error::ApiError;
use crate::fs::confine::ensure_inside;
use crate::resources::commands::{self, commands_dir};
use crate::resources::portable::sensitive::{SensitiveMode, collect_warnings, strip_sensitive};
use crate::resources::portable::{list_files, portable_opencode, without_materialized_sessions};
use crate::resources::skills::{SkillFiles, discover_with};
use crate::state::{AppState, now_ms};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_workspace))
}

/// The export document, or `409 workspace_export_requires_decision` when it would carry
/// something secret-looking and the caller did not say `sensitive=include|exclude`.
#[utoipa::path(
    get,
    path = "/workspace/{id}/export",
    summary = "Export the workspace's setup",
    tag = "portable",
    params(
        WorkspaceId,
        ("sensitive" = Option<String>, Query, description = "`auto` (default): refuse with 409 when something looks secret; `include`: export it; `exclude`: leave it out"),
    ),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "The workspace's portable setup", body = schemas::workspace::WorkspaceExport),
        (status = 400, description = "- `invalid_workspace_export_sensitive_mode`: Invalid workspace export sensitive mode: <value>\n- `invalid_path`: Path escapes the workspace", body = ErrorBody),
        (status = 409, description = "- `workspace_export_requires_decision`: This workspace includes sensitive config. Choose whether to exclude it or include it before exporting. (details: `warnings: [{id, label, detail}]`)", body = ErrorBody),
        (status = 422, description = errors::CONFIG_UNPARSEABLE, body = ErrorBody),
    ),
)]
pub(super) async fn export_workspace(
    State(state): State<AppState>,
    access: ReadAccess,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let sensitive = query
        .iter()
        .find(|(key, _)| key == "sensitive")
        .map(|(_, value)| value.as_str());
    let mode = SensitiveMode::parse(sensitive)?;
    let ws = access.workspace;
    let raw_opencode = state.read_jsonc_object(&ws.project_config_path())?;
    let openwork = without_materialized_sessions(&state.read_openwork_config(&ws)?);

    let home = state.home();
    let workspace = ws.clone();
    let (skills, commands, files) = tokio::task::spawn_blocking(move || {
        let root = workspace.root();
        let files = list_files(root)?;
        let dir = commands_dir(&workspace);
        // SECURITY (D1): the commands folder is read only when it resolves inside.
        ensure_inside(root, &dir)?;
        let commands = commands::list(&dir, "workspace");
        let skills = discover_with(&SkillFiles::default(), &home, &workspace, false);
        Ok::<_, ApiError>((skills, commands, files))
    })
    .await
    .map_err(ApiError::internal)??;

    // QUIRK (kept): the raw config is checked, so a secret in a section that is never
    // exported (e.g. `provider`) still asks for a decision.
    let warnings = collect_warnings(&raw_opencode, &files);
    if mode == SensitiveMode::Auto && !warnings.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "workspace_export_requires_decision",
            "This workspace includes sensitive config. Choose whether to exclude it or include it before exporting.",
        )
        .with_details(json!({ "warnings": warnings })));
    }
    let mut opencode = portable_opencode(&raw_opencode);
    let mut files = files;
    if mode == SensitiveMode::Exclude {
        (opencode, files) = strip_sensitive(&opencode, files);
    }

    let skills: Vec<Value> = skills
        .into_iter()
        .map(|found| {
            json!({
                "name": found.item.name,
                "description": found.item.description,
                "content": found.content,
            })
        })
        .collect();
    let commands: Vec<Value> = commands
        .into_iter()
        .map(|command| {
            let mut item = Map::new();
            item.insert("name".into(), command.name.into());
            if let Some(description) = command.description {
                item.insert("description".into(), description.into());
            }
            item.insert("template".into(), command.template.into());
            Value::Object(item)
        })
        .collect();
    let mut body = Map::new();
    body.insert("workspaceId".into(), ws.id.into());
    body.insert("exportedAt".into(), now_ms().into());
    body.insert("opencode".into(), Value::Object(opencode));
    body.insert("openwork".into(), Value::Object(openwork));
    body.insert("skills".into(), skills.into());
    body.insert("commands".into(), commands.into());
    if !files.is_empty() {
        body.insert("files".into(), json!(files));
    }
    Ok(Json(Value::Object(body)))
}
