//! Auth extractors. A handler states what it needs in its signature: [`ClientAuth`] for
//! client routes (any valid bearer), [`HostAuth`] for host routes (the host token header,
//! or an owner bearer). Messages and codes are those of contract §3.3.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use subtle::ConstantTimeEq;

use super::{Actor, Scope, token_digest};
use crate::error::ApiError;
use crate::pipeline::{AuthMode, AuthSlot};
use crate::state::AppState;

/// Header carrying the host token.
pub(crate) const HOST_TOKEN_HEADER: &str = "x-openwork-host-token";
/// Header carrying an optional client id for approvals and audit.
pub(crate) const CLIENT_ID_HEADER: &str = "x-openwork-client-id";

/// A caller with a valid bearer token, of any scope.
#[derive(Debug, Clone)]
pub(crate) struct ClientAuth(pub(crate) Actor);

/// The host: the host token header, or a bearer token of scope owner.
#[derive(Debug, Clone)]
#[allow(dead_code)] // the actor is recorded by write routes' audit lines
pub(crate) struct HostAuth(pub(crate) Actor);

/// `Authorization: Bearer <token>` (scheme in any case), token trimmed.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case("bearer") || !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some(rest.trim())
}

fn client_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CLIENT_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The peer address; requests driven without a socket (router tests) share one bucket.
fn peer(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

fn note_auth_mode(parts: &Parts, mode: AuthMode) {
    if let Some(slot) = parts.extensions.get::<AuthSlot>() {
        slot.set(mode);
    }
}

fn carries_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::AUTHORIZATION) || headers.contains_key(HOST_TOKEN_HEADER)
}

impl AppState {
    /// The scope of a bearer token: the client token is a collaborator, scoped tokens carry
    /// their own. Constant time in the token's value.
    pub(crate) fn bearer_scope(&self, token: &str) -> Option<Scope> {
        let digest = token_digest(token);
        let is_client = bool::from(digest.ct_eq(&self.client_token_digest));
        let scoped = self.tokens.scope_of(token);
        if is_client {
            Some(Scope::Collaborator)
        } else {
            scoped
        }
    }

    fn is_host_token(&self, token: &str) -> bool {
        bool::from(token_digest(token).ct_eq(&self.host_token_digest))
    }

    /// SECURITY (D6): a blocked address gets 429 before its credentials are looked at.
    fn check_rate_limit(&self, parts: &Parts) -> Result<IpAddr, ApiError> {
        let ip = peer(parts);
        if carries_credentials(&parts.headers) {
            self.limiter.check(ip).map_err(ApiError::rate_limited)?;
        }
        Ok(ip)
    }
}

impl FromRequestParts<AppState> for ClientAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        note_auth_mode(parts, AuthMode::Client);
        let ip = state.check_rate_limit(parts)?;
        let Some(token) = bearer(&parts.headers) else {
            return Err(ApiError::invalid_bearer());
        };
        match state.bearer_scope(token) {
            Some(scope) => Ok(Self(Actor::remote(token, scope, client_id(&parts.headers)))),
            None => {
                state.limiter.record_failure(ip);
                Err(ApiError::invalid_bearer())
            }
        }
    }
}

impl FromRequestParts<AppState> for HostAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        note_auth_mode(parts, AuthMode::Host);
        let ip = state.check_rate_limit(parts)?;
        let host_header = parts
            .headers
            .get(HOST_TOKEN_HEADER)
            .map(|v| v.to_str().unwrap_or_default());
        if let Some(candidate) = host_header {
            if state.is_host_token(candidate) {
                return Ok(Self(Actor::host(candidate)));
            }
        }
        let bearer = bearer(&parts.headers);
        let bearer_scope = bearer.and_then(|t| state.bearer_scope(t));
        if let (Some(token), Some(Scope::Owner)) = (bearer, bearer_scope) {
            return Ok(Self(Actor::remote(
                token,
                Scope::Owner,
                client_id(&parts.headers),
            )));
        }
        // A valid bearer of a lower scope is not a guess; a wrong secret is, including a
        // wrong host token sent beside a valid client bearer.
        let guessed = host_header.is_some() || (bearer.is_some() && bearer_scope.is_none());
        if guessed {
            state.limiter.record_failure(ip);
        }
        Err(ApiError::invalid_host_token())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn bearer_parsing_follows_the_reference_pattern() {
        assert_eq!(bearer(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&headers("bearer   abc  ")), Some("abc"));
        assert_eq!(bearer(&headers("BEARER\tabc")), Some("abc"));
        assert_eq!(bearer(&headers("Bearerabc")), None);
        assert_eq!(bearer(&headers("Basic abc")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
