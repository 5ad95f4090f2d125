//! The reference point: a minimal hyper 1 HTTP/1 server that answers every request
//! with a fixed `/health`-sized JSON body. It runs in its own process (the bench
//! re-executes itself with `--bare-hyper-server`) on tokio's default multi-threaded
//! runtime, so it competes for the same cores under the same conditions as the real
//! server and the ratio between the two means something.

use std::convert::Infallible;
use std::net::Ipv4Addr;
use std::process::ExitCode;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};

use crate::Error;

/// Start of the line this mode prints once it is bound, followed by `host:port`.
pub const READY_PREFIX: &str = "bare hyper server listening on http://";

/// Same shape and size as the real server's `/health` answer.
const BODY: &[u8] = br#"{"ok":true,"version":"0.11.207","uptimeMs":12345}"#;

/// Entry point of the hidden mode; returns when SIGTERM or SIGINT arrives.
pub fn run() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bare hyper server: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare hyper server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Error> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    // std's stdout is line-buffered, so the parent sees this line at once.
    println!("{READY_PREFIX}{}", listener.local_addr()?);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // A failed accept (e.g. out of descriptors) drops one client, not the server.
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(serve_connection(stream));
                }
            }
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        }
    }
}

async fn serve_connection(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(answer);
    // Client resets at the end of a run are expected; there is nobody to tell.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn answer(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_health_shape() {
        let body: serde_json::Value = serde_json::from_slice(BODY).expect("valid JSON");
        assert_eq!(body["ok"], true);
        assert!(body["version"].is_string());
        assert!(body["uptimeMs"].is_u64());
    }
}
