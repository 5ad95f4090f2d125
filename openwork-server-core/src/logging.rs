//! Log output for hosts that want the reference's format (contract §10.2): pretty (the
//! message alone) or one OpenTelemetry-shaped JSON record per line, both on stdout.
//! The library only emits `tracing` events; installing this subscriber is the host's choice.

use serde_json::{Map, Value};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::VERSION;
use crate::config::LogFormat;

/// Formats events as the reference prints them.
#[derive(Debug, Clone)]
pub struct OpenworkFormat {
    format: LogFormat,
    run_id: String,
    host_name: String,
    pid: u32,
}

impl OpenworkFormat {
    /// A formatter for `format`; `run_id` is `OPENWORK_RUN_ID` or a random UUID.
    pub fn new(format: LogFormat, run_id: impl Into<String>) -> Self {
        Self {
            format,
            run_id: run_id.into(),
            host_name: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
        }
    }
}

/// Installs the process-wide subscriber: our own events at INFO and above, other crates'
/// warnings and errors only. Returns `false` if a subscriber was already installed.
pub fn install(format: LogFormat, run_id: impl Into<String>) -> bool {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(Level::WARN)
        .with_target("openwork_server", Level::INFO)
        .with_target("openwork_server_core", Level::INFO);
    let layer = tracing_subscriber::fmt::layer()
        .event_format(OpenworkFormat::new(format, run_id))
        .with_writer(std::io::stdout);
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init()
        .is_ok()
}

use tracing_subscriber::Layer as _;

fn severity(level: &Level) -> (&'static str, u8) {
    match *level {
        Level::ERROR => ("ERROR", 17),
        Level::WARN => ("WARN", 13),
        Level::INFO => ("INFO", 9),
        Level::DEBUG => ("DEBUG", 5),
        Level::TRACE => ("TRACE", 1),
    }
}

/// Collects an event's message and fields.
#[derive(Default)]
struct Fields {
    message: String,
    attributes: Map<String, Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.attributes
                .insert(field.name().to_owned(), value.into());
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.attributes
            .insert(field.name().to_owned(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attributes
            .insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attributes
            .insert(field.name().to_owned(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.attributes
                .insert(field.name().to_owned(), format!("{value:?}").into());
        }
    }
}

impl<S, N> FormatEvent<S, N> for OpenworkFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if self.format == LogFormat::Pretty {
            return writeln!(writer, "{}", fields.message);
        }
        let (severity_text, severity_number) = severity(event.metadata().level());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut attributes = Map::new();
        attributes.insert("run.id".into(), self.run_id.clone().into());
        attributes.insert("process.pid".into(), self.pid.into());
        attributes.extend(fields.attributes);
        let record = serde_json::json!({
            "timeUnixNano": now.to_string(),
            "severityText": severity_text,
            "severityNumber": severity_number,
            "body": fields.message,
            "attributes": attributes,
            "resource": {
                "service.name": "openwork-server",
                "service.version": VERSION,
                "service.instance.id": self.run_id,
                "host.name": self.host_name,
            },
        });
        writeln!(writer, "{record}")
    }
}
