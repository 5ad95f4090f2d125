//! The request pipeline of contract §4.0 around the route table: `OPTIONS` on any path is a
//! 204, the `/w/:id/` mount rewrite, routing with JSON 404s, CORS headers on every response,
//! and the request log line.
//!
//! It is one hand-written service rather than a stack of middleware so that a request costs
//! no boxed futures beyond the router's own: `/health` must stay close to a bare hyper server.

mod cors;
pub(crate) mod extract;
mod log;
mod mount;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use http::HeaderValue;
use pin_project_lite::pin_project;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::Service;

pub(crate) use log::{AuthMode, AuthSlot, ProxyTarget};

use crate::routes;
use crate::state::AppState;

/// The whole application as a router (for `oneshot` tests and embedding).
pub(crate) fn app(state: AppState) -> Router {
    Router::new().fallback_service(Pipeline::new(state))
}

/// The pipeline service.
#[derive(Clone)]
pub(crate) struct Pipeline {
    state: AppState,
    routes: Router,
}

impl Pipeline {
    /// The pipeline around the route table.
    pub(crate) fn new(state: AppState) -> Self {
        Self {
            routes: routes::router(state.clone()),
            state,
        }
    }
}

impl Service<Request> for Pipeline {
    type Response = Response;
    type Error = Infallible;
    type Future = PipelineFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> PipelineFuture {
        let config = &self.state.config;
        let cors = cors::allowed_origin(&config.cors_origins, request.headers());
        let line = config
            .log_requests
            .then(|| log::RequestLine::start(&mut request));
        let stage = if request.method() == Method::OPTIONS {
            Stage::Done {
                response: Some(StatusCode::NO_CONTENT.into_response()),
            }
        } else {
            match mount::rewrite_mounted(&mut request) {
                Ok(()) => Stage::Routing {
                    future: self.routes.call(request),
                },
                Err(error) => Stage::Done {
                    response: Some(error.into_response()),
                },
            }
        };
        PipelineFuture { stage, cors, line }
    }
}

pin_project! {
    /// A request going through the pipeline.
    pub(crate) struct PipelineFuture {
        #[pin]
        stage: Stage,
        cors: Option<HeaderValue>,
        line: Option<log::RequestLine>,
    }
}

pin_project! {
    #[project = StageProj]
    enum Stage {
        Routing { #[pin] future: RouteFuture<Infallible> },
        Done { response: Option<Response> },
    }
}

impl Future for PipelineFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.stage.project() {
            StageProj::Routing { future } => match future.poll(cx) {
                Poll::Ready(Ok(response)) => response,
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => return Poll::Pending,
            },
            StageProj::Done { response } => response
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        };
        if let Some(origin) = this.cors.take() {
            cors::apply(&mut response, origin);
        }
        if let Some(line) = this.line.take() {
            line.finish(&response);
        }
        Poll::Ready(Ok(response))
    }
}
