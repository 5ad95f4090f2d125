//! Skills (contract §4.9): `GET /workspace/:id/skills[?includeGlobal=true]`,
//! `GET /workspace/:id/skills/:name`, `POST /workspace/:id/skills` and
//! `DELETE /workspace/:id/skills/:name`.
//!
//! Writes validate everything first and ask for approval only then (D4), with the
//! reference's codes and messages.

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};
use std::sync::Arc;

use super::guard::{ReadAccess, WriteAccess};
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use crate::error::ApiError;
use crate::events::{ReloadReason, ReloadTrigger};
use crate::fs::confine::ensure_inside;
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::resources::skills::{
    self, CachedSkill, SkillFiles, js_string, js_trim, js_truthy_string, list_json,
    project_skills_dir, skill_file, validate_skill_name,
};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes. The parsed-`SKILL.md` cache belongs to this router, so every
/// server has its own.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_skills, upsert_skill))
        .routes(routes!(get_skill, delete_skill))
        .layer(Extension(Arc::new(SkillFiles::default())))
}

/// The first value of a query parameter, like `URLSearchParams.get`.
pub(super) fn query_param(uri: &Uri, key: &str) -> Option<String> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri).ok()?;
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn include_global(uri: &Uri) -> bool {
    query_param(uri, "includeGlobal").as_deref() == Some("true")
}

/// Discovery with this router's cache. It runs inline: once the cache is warm a listing
/// is one `stat` per skills folder and per skill, less than the hop to the blocking pool
/// costs (that hop showed in the measured profile).
fn discover(
    state: &AppState,
    cache: &SkillFiles,
    access: &ReadAccess,
    include_global: bool,
) -> Vec<CachedSkill> {
    skills::discover_cached(cache, &state.home(), &access.workspace, include_global)
}

fn name_required() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_skill_name",
        "Skill name is required",
    )
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "skill_not_found",
        format!("Skill not found: {name}"),
    )
}

/// `{"items":[SkillItem]}`.
#[utoipa::path(
    get,
    path = "/workspace/{id}/skills",
    summary = "List skills",
    tag = "skills",
    params(WorkspaceId, ("includeGlobal" = Option<String>, Query, description = "`true` (exactly) also lists the host user's global ones")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses((status = 200, description = "Skills found from the workspace up to its git root", body = schemas::workspace::SkillList)),
)]
pub(super) async fn list_skills(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<SkillFiles>>,
    access: ReadAccess,
    uri: Uri,
) -> Response {
    let found = discover(&state, &cache, &access, include_global(&uri));
    // Assembled from JSON pieces the cache escaped once per file change.
    (
        [(header::CONTENT_TYPE, "application/json")],
        list_json(&found),
    )
        .into_response()
}

/// `{"item": SkillItem, "content": "<SKILL.md text>"}`.
#[utoipa::path(
    get,
    path = "/workspace/{id}/skills/{name}",
    summary = "One skill with its text",
    tag = "skills",
    params(WorkspaceId, ("name" = String, Path, description = "Skill name"), ("includeGlobal" = Option<String>, Query, description = "`true` (exactly) also lists the host user's global ones")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "The skill and its text", body = schemas::workspace::SkillDetail),
        (status = 400, description = "- `invalid_skill_name`: Skill name is required", body = ErrorBody),
        (status = 404, description = "- `skill_not_found`: Skill not found: <name>", body = ErrorBody),
    ),
)]
pub(super) async fn get_skill(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<SkillFiles>>,
    access: ReadAccess,
    PathParams((_, name)): PathParams<(String, String)>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let name = js_trim(&name);
    if name.is_empty() {
        return Err(name_required());
    }
    let found = discover(&state, &cache, &access, include_global(&uri));
    let Some(skill) = found.iter().find(|f| f.name() == name) else {
        return Err(not_found(name));
    };
    Ok(Json(json!({ "item": skill, "content": skill.content() })))
}

/// Writes `<ws>/.opencode/skills/<name>/SKILL.md` after approval.
#[utoipa::path(
    post,
    path = "/workspace/{id}/skills",
    summary = "Create or replace a skill",
    tag = "skills",
    params(WorkspaceId),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("skills.upsert")),
    ),
    request_body = schemas::workspace::SkillUpsert,
    responses(
        (status = 200, description = "Written", body = schemas::workspace::SkillWritten),
        (status = 400, description = "- `invalid_skill_name`: Skill name must be kebab-case (1-64 chars) | Skill frontmatter name must match payload name\n- `invalid_skill_content`: Skill content is required | Skill frontmatter must be valid YAML\n- `invalid_path`: Path escapes the workspace", body = ErrorBody),
        (status = 422, description = "- `invalid_description`: Description must be 1-1024 characters", body = ErrorBody),
    ),
)]
pub(super) async fn upsert_skill(
    access: WriteAccess,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let raw_name = js_string(body.get("name"));
    let content = js_string(body.get("content"));
    let description = js_truthy_string(body.get("description"));
    // D4: every check that needs no write runs before the operator is asked.
    // SECURITY: the kebab-case name is one plain path segment (no `/`, `..`).
    let name = validate_skill_name(&raw_name)?;
    let text = skill_file(&raw_name, &content, description.as_deref())?;
    let path = project_skills_dir(&access.workspace)
        .join(&name)
        .join("SKILL.md");
    ensure_inside(access.workspace.root(), &path)?;
    let shown = path.to_string_lossy().into_owned();
    access
        .approve(
            "skills.upsert",
            format!("Upsert skill {raw_name}"),
            vec![shown.clone()],
        )
        .await?;
    let action = {
        let _lock = access.state.file_locks.lock(&path).await;
        ensure_inside(access.workspace.root(), &path)?;
        let existed = tokio::fs::try_exists(&path).await.unwrap_or(false);
        access.write_file(&path, text).await?;
        if existed { "updated" } else { "added" }
    };
    access
        .audit(
            "skills.upsert",
            shown.clone(),
            format!("Upserted skill {raw_name}"),
        )
        .await;
    access.reload(
        ReloadReason::Skills,
        Some(ReloadTrigger::new(
            "skill",
            Some(raw_name.clone()),
            action,
            Some(shown.clone()),
        )),
    );
    Ok(Json(json!({
        "name": raw_name,
        "path": shown,
        // QUIRK (kept): the payload's description, not the one written.
        "description": description.unwrap_or_default(),
        "scope": "project",
    })))
}

/// Removes `<ws>/.opencode/skills/<name>` recursively after approval. Only the project's
/// own skills folder is targeted, never `.claude` or an ancestor's.
#[utoipa::path(
    delete,
    path = "/workspace/{id}/skills/{name}",
    summary = "Delete a skill",
    tag = "skills",
    params(WorkspaceId, ("name" = String, Path, description = "Skill name")),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("skills.delete")),
    ),
    responses(
        (status = 200, description = "Removed", body = schemas::workspace::SkillDeleted),
        (status = 400, description = "- `invalid_skill_name`: Skill name is required | Skill name must be kebab-case (1-64 chars)\n- `invalid_path`: Path escapes the workspace", body = ErrorBody),
        (status = 404, description = "- `skill_not_found`: Skill not found: <name>", body = ErrorBody),
    ),
)]
pub(super) async fn delete_skill(
    access: WriteAccess,
    PathParams((_, raw_name)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let name = js_trim(&raw_name);
    if name.is_empty() {
        return Err(name_required());
    }
    // SECURITY: the kebab-case check keeps the name one plain path segment (no `/`, `..`).
    let name = validate_skill_name(name)?;
    let dir = project_skills_dir(&access.workspace).join(&name);
    let file = dir.join("SKILL.md");
    if !tokio::fs::try_exists(&file).await.unwrap_or(false) {
        return Err(not_found(&name));
    }
    ensure_inside(access.workspace.root(), &dir)?;
    let shown = dir.to_string_lossy().into_owned();
    access
        .approve(
            "skills.delete",
            format!("Delete skill {name}"),
            vec![shown.clone()],
        )
        .await?;
    {
        let _lock = access.state.file_locks.lock(&file).await;
        // Another request may have removed it while the operator was deciding.
        if !tokio::fs::try_exists(&file).await.unwrap_or(false) {
            return Err(not_found(&name));
        }
        ensure_inside(access.workspace.root(), &dir)?;
        let target = dir.clone();
        tokio::task::spawn_blocking(move || std::fs::remove_dir_all(target))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
    }
    access
        .audit(
            "skills.delete",
            shown.clone(),
            format!("Deleted skill {name}"),
        )
        .await;
    access.reload(
        ReloadReason::Skills,
        Some(ReloadTrigger::new(
            "skill",
            Some(name.clone()),
            "removed",
            Some(shown.clone()),
        )),
    );
    Ok(Json(json!({ "ok": true, "name": name, "path": shown })))
}
