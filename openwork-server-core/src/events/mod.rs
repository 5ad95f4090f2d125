//! Reload events (contract §6.2): a ring buffer of the last 200 events of all workspaces
//! with one global sequence number, fed by API writes and the file watcher, read by polling
//! (`?since=`) or as a Server-Sent Events stream.

use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::state::now_ms;

/// Events kept for polling.
pub(crate) const CAPACITY: usize = 200;
/// A second event of the same workspace and reason within this window is dropped.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(750);

/// What needs reloading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ReloadReason {
    Plugins,
    Skills,
    Mcp,
    Config,
    Agents,
    Commands,
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ReloadTrigger {
    /// `skill`, `plugin`, `config`, `mcp`, `agent` or `command`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    /// `added`, `removed` or `updated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
}

impl ReloadTrigger {
    /// A trigger of `kind` with the given parts.
    pub(crate) fn new(
        kind: &'static str,
        name: Option<String>,
        action: &'static str,
        path: Option<String>,
    ) -> Self {
        Self {
            kind,
            name,
            action: Some(action),
            path,
        }
    }
}

/// One event as clients see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReloadEvent {
    pub(crate) id: String,
    pub(crate) seq: u64,
    pub(crate) workspace_id: String,
    pub(crate) reason: ReloadReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) trigger: Option<ReloadTrigger>,
    pub(crate) timestamp: u64,
}

/// Who noticed the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A write through the API; carries the name and action.
    Api,
    /// The file watcher.
    Watcher,
}

#[derive(Default)]
struct Ring {
    events: VecDeque<ReloadEvent>,
    seq: u64,
    /// Last recorded event per (workspace, reason): any origin, and API only.
    last: HashMap<(String, ReloadReason), (Instant, Option<Instant>)>,
}

/// The event service.
pub(crate) struct ReloadEvents {
    ring: Mutex<Ring>,
    live: broadcast::Sender<ReloadEvent>,
}

impl std::fmt::Debug for ReloadEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadEvents").finish_non_exhaustive()
    }
}

impl Default for ReloadEvents {
    fn default() -> Self {
        Self {
            ring: Mutex::new(Ring::default()),
            live: broadcast::channel(CAPACITY).0,
        }
    }
}

impl ReloadEvents {
    /// Records an event unless the debounce drops it. The reference drops a second event
    /// of the same workspace and reason within 750 ms; we keep that, except that an API
    /// event is never dropped because of a watcher event (it carries the name and action,
    /// the watcher's echo of the same write does not).
    pub(crate) fn record(
        &self,
        workspace_id: &str,
        reason: ReloadReason,
        trigger: Option<ReloadTrigger>,
        origin: Origin,
    ) -> Option<ReloadEvent> {
        let now = Instant::now();
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (workspace_id.to_owned(), reason);
        if let Some((any, api)) = ring.last.get(&key) {
            let recent = |t: &Instant| now.duration_since(*t) < DEBOUNCE;
            let dropped = match origin {
                Origin::Watcher => recent(any),
                Origin::Api => api.as_ref().is_some_and(recent),
            };
            if dropped {
                return None;
            }
        }
        let api_time = match origin {
            Origin::Api => Some(now),
            Origin::Watcher => ring.last.get(&key).and_then(|(_, api)| *api),
        };
        ring.last.insert(key, (now, api_time));
        ring.seq += 1;
        let event = ReloadEvent {
            id: uuid::Uuid::new_v4().to_string(),
            seq: ring.seq,
            workspace_id: workspace_id.to_owned(),
            reason,
            trigger,
            timestamp: now_ms(),
        };
        if ring.events.len() == CAPACITY {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        // Nobody listening is fine.
        let _ = self.live.send(event.clone());
        Some(event)
    }

    /// This workspace's buffered events after `since`, oldest first, and the current seq.
    pub(crate) fn since(&self, workspace_id: &str, since: u64) -> (Vec<ReloadEvent>, u64) {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let items = ring
            .events
            .iter()
            .filter(|e| e.seq > since && e.workspace_id == workspace_id)
            .cloned()
            .collect();
        (items, ring.seq)
    }

    /// Buffered events after `since` plus a receiver for everything after them, taken
    /// under one lock so no event falls between the two.
    pub(crate) fn subscribe(
        &self,
        workspace_id: &str,
        since: u64,
    ) -> (Vec<ReloadEvent>, broadcast::Receiver<ReloadEvent>) {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = self.live.subscribe();
        let items = ring
            .events
            .iter()
            .filter(|e| e.seq > since && e.workspace_id == workspace_id)
            .cloned()
            .collect();
        (items, receiver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(action: &'static str) -> Option<ReloadTrigger> {
        Some(ReloadTrigger::new("plugin", Some("p".into()), action, None))
    }

    #[tokio::test(start_paused = true)]
    async fn seq_is_global_and_since_filters_by_workspace() {
        let events = ReloadEvents::default();
        events.record("ws_a", ReloadReason::Plugins, trigger("added"), Origin::Api);
        events.record("ws_b", ReloadReason::Plugins, trigger("added"), Origin::Api);
        events.record("ws_a", ReloadReason::Skills, None, Origin::Api);
        let (items, cursor) = events.since("ws_a", 0);
        assert_eq!(cursor, 3);
        assert_eq!(items.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 3]);
        let (items, _) = events.since("ws_a", 1);
        assert_eq!(items.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn debounce_drops_quick_repeats_but_never_an_api_event_for_a_watcher_one() {
        let events = ReloadEvents::default();
        assert!(
            events
                .record("w", ReloadReason::Plugins, trigger("added"), Origin::Api)
                .is_some()
        );
        // The reference quirk: a second API event of the same reason within 750 ms is dropped.
        assert!(
            events
                .record("w", ReloadReason::Plugins, trigger("removed"), Origin::Api)
                .is_none()
        );
        // The watcher's echo of the write is dropped too.
        assert!(
            events
                .record("w", ReloadReason::Plugins, None, Origin::Watcher)
                .is_none()
        );

        tokio::time::advance(DEBOUNCE).await;
        assert!(
            events
                .record("w", ReloadReason::Config, None, Origin::Watcher)
                .is_some()
        );
        // An API event right after a watcher event of the same reason is kept.
        assert!(
            events
                .record("w", ReloadReason::Config, trigger("updated"), Origin::Api)
                .is_some()
        );
    }

    #[test]
    fn the_buffer_keeps_the_last_two_hundred() {
        let events = ReloadEvents::default();
        for n in 0..250 {
            events.record(&format!("ws_{n}"), ReloadReason::Skills, None, Origin::Api);
        }
        let ring = events.ring.lock().unwrap();
        assert_eq!(ring.events.len(), CAPACITY);
        assert_eq!(ring.events.front().unwrap().seq, 51);
    }
}
