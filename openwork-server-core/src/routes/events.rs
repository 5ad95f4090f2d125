//! `GET /workspace/:id/events` (contract §6.2): reload events as a JSON poll, or, with
//! `Accept: text/event-stream`, as Server-Sent Events (`id:` = `seq`, resumable with
//! `Last-Event-ID`) that end when the server shuts down.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

use super::guard::ReadAccess;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas;
use crate::events::ReloadEvent;
use crate::pipeline::extract::FirstQuery;
use crate::state::AppState;
use utoipa::IntoParams;

/// `?since=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SinceQuery {
    /// Return events with a greater `seq` (default 0).
    #[param(value_type = Option<u64>)]
    since: Option<String>,
}

fn parse_seq(raw: Option<&str>) -> u64 {
    raw.and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n > 0.0)
        .map_or(0, |n| n.trunc() as u64)
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

/// Polls or streams this workspace's reload events.
#[utoipa::path(
    get,
    path = "/workspace/{id}/events",
    summary = "Reload events (poll or stream)",
    tag = "events",
    params(WorkspaceId, SinceQuery),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses((
        status = 200,
        description = "Reload events after `since`. With `Accept: text/event-stream` they stream as Server-Sent Events (`id:` = `seq`, resume with `Last-Event-ID`, `data:` = one event) until the server stops.",
        content(
            (schemas::workspace::ReloadEventPoll = "application/json"),
            (String = "text/event-stream"),
        ),
    )),
)]
pub(super) async fn get_events(
    State(state): State<AppState>,
    access: ReadAccess,
    headers: HeaderMap,
    FirstQuery(query): FirstQuery<SinceQuery>,
) -> Response {
    let workspace_id = access.workspace.id;
    let mut since = parse_seq(query.since.as_deref());
    if !wants_stream(&headers) {
        let (items, cursor) = state.events.since(&workspace_id, since);
        return Json(json!({
            "items": items,
            "cursor": cursor,
            "workspaceId": workspace_id,
            "disabled": false,
        }))
        .into_response();
    }
    if let Some(last) = headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        since = parse_seq(Some(last));
    }
    Sse::new(event_stream(&state, workspace_id, since))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn sse_event(event: &ReloadEvent) -> Result<Event, Infallible> {
    Ok(Event::default()
        .id(event.seq.to_string())
        .data(serde_json::to_string(event).unwrap_or_default()))
}

fn event_stream(
    state: &AppState,
    workspace_id: String,
    since: u64,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let (backlog, receiver) = state.events.subscribe(&workspace_id, since);
    let last_sent = backlog.last().map_or(since, |e| e.seq);
    let shutdown = state.shutdown.clone();
    let backlog = stream::iter(backlog.iter().map(sse_event).collect::<Vec<_>>());
    let live = stream::unfold((receiver, last_sent), move |(mut receiver, last_sent)| {
        let workspace_id = workspace_id.clone();
        let shutdown = shutdown.clone();
        async move {
            loop {
                let received = tokio::select! {
                    received = receiver.recv() => received,
                    () = shutdown.cancelled() => return None,
                };
                match received {
                    Ok(event) if event.workspace_id == workspace_id && event.seq > last_sent => {
                        let seq = event.seq;
                        return Some((sse_event(&event), (receiver, seq)));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    });
    backlog.chain(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_values_are_read_leniently() {
        assert_eq!(parse_seq(None), 0);
        assert_eq!(parse_seq(Some("abc")), 0);
        assert_eq!(parse_seq(Some("-4")), 0);
        assert_eq!(parse_seq(Some("12")), 12);
    }
}
