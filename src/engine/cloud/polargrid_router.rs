//! Choosing a PolarGrid edge region with its autorouter.
//!
//! `GET <router>/v1/route?model=<id>` names the nearest edge that serves the model; the answer
//! is cached on disk for its `ttl` so most runs skip the request. When the router fails —
//! unreachable, 404 for the model, a bad answer — Toronto (`yto-01`) is used, as the official
//! SDK does, and the user is told. The key is not sent to the router, and an edge the router
//! names must be a `polargrid.ai` host (or, for tests, loopback behind a loopback router).

use super::endpoint::{is_loopback, join_path};
use super::http::{describe_transport_error, one_line_excerpt};
use super::options::POLARGRID_FALLBACK_REGION;
use crate::engine::EngineError;
use crate::events::EventSink;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

pub const DEFAULT_ROUTER_URL: &str = "https://autorouter.polargrid.ai";
pub const ROUTER_URL_ENV_VAR: &str = "VERBATIM_POLARGRID_ROUTER_URL";
const ROUTE_CACHE_FILE: &str = "polargrid-route.json";

/// The router's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub region: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Seconds the answer stays valid.
    #[serde(default = "default_ttl_s", alias = "ttl_s")]
    pub ttl: u64,
}

fn default_ttl_s() -> u64 {
    3600
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CachedRoute {
    router_url: String,
    model: String,
    fetched_unix_s: u64,
    route: Route,
}

/// The edge to use and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeChoice {
    pub base: Url,
    pub region: String,
    pub source: EdgeSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeSource {
    Router,
    Cache,
    Fallback,
}

/// The base URL of a region's edge.
pub fn region_base_url(region: &str) -> Result<Url, EngineError> {
    Url::parse(&format!("https://api.{region}.edge.polargrid.ai"))
        .map_err(|_| EngineError::Service(format!("'{region}' is not a usable PolarGrid region")))
}

/// The route cache file in `cache_dir`, or in the platform cache directory.
pub fn route_cache_file(cache_dir: Option<&Path>) -> Option<PathBuf> {
    match cache_dir {
        Some(dir) => Some(dir.join(ROUTE_CACHE_FILE)),
        None => dirs::cache_dir().map(|dir| dir.join("verbatim").join(ROUTE_CACHE_FILE)),
    }
}

/// Asks the router (or its cached answer) for the edge serving `model`; falls back to
/// Toronto with a warning. Fails only when cancelled.
pub async fn choose_edge(
    client: &reqwest::Client,
    router_base: &Url,
    model: &str,
    cache_file: Option<&Path>,
    timeout: Duration,
    sink: &EventSink,
    cancel: &CancellationToken,
) -> Result<EdgeChoice, EngineError> {
    let now_s = unix_now_s();
    if let Some(cached) = cache_file.and_then(|file| read_cache(file, router_base, model, now_s))
        && let Some(base) = trusted_edge(router_base, &cached)
    {
        return Ok(EdgeChoice {
            base,
            region: cached.region,
            source: EdgeSource::Cache,
        });
    }
    let failure = match fetch_route(client, router_base, model, timeout, cancel).await? {
        Ok(route) => match trusted_edge(router_base, &route) {
            Some(base) => {
                if let Some(file) = cache_file {
                    write_cache(file, router_base, model, now_s, &route);
                }
                return Ok(EdgeChoice {
                    base,
                    region: route.region,
                    source: EdgeSource::Router,
                });
            }
            None => "named an edge that is not a PolarGrid host".to_string(),
        },
        Err(reason) => reason,
    };
    sink.warning(format!(
        "PolarGrid's autorouter {failure}; using Toronto ({POLARGRID_FALLBACK_REGION})"
    ));
    Ok(EdgeChoice {
        base: region_base_url(POLARGRID_FALLBACK_REGION)?,
        region: POLARGRID_FALLBACK_REGION.into(),
        source: EdgeSource::Fallback,
    })
}

/// One router request: the route, or why there is none (outer error: cancelled).
async fn fetch_route(
    client: &reqwest::Client,
    router_base: &Url,
    model: &str,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<Result<Route, String>, EngineError> {
    let url = join_path(router_base, "/v1/route");
    let request = async {
        let response = client
            .get(url)
            .query(&[("model", model)])
            .send()
            .await
            .map_err(|error| {
                format!(
                    "could not be reached ({})",
                    describe_transport_error(&error)
                )
            })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(format!("found no edge serving {model} (404)"));
        }
        if !status.is_success() {
            return Err(format!("failed ({})", status.as_u16()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|error| format!("failed mid-answer ({})", describe_transport_error(&error)))?;
        if body.len() > 64 * 1024 {
            return Err("sent an answer too large to be a route".into());
        }
        serde_json::from_slice::<Route>(&body).map_err(|error| {
            format!(
                "sent an answer that is not a route ({})",
                one_line_excerpt(&error.to_string())
            )
        })
    };
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(EngineError::Cancelled),
        result = tokio::time::timeout(timeout, request) => Ok(result.unwrap_or_else(|_| Err("did not answer in time".into()))),
    }
}

/// The edge a route names, if the key may be sent there: an `https` host under
/// `polargrid.ai`, or loopback when the router itself is loopback. A route with only a
/// region gets that region's edge.
fn trusted_edge(router_base: &Url, route: &Route) -> Option<Url> {
    let Some(endpoint) = route
        .endpoint
        .as_deref()
        .filter(|endpoint| !endpoint.trim().is_empty())
    else {
        let region_is_plain = !route.region.is_empty()
            && route
                .region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        return region_is_plain
            .then(|| region_base_url(&route.region).ok())
            .flatten();
    };
    let url = Url::parse(endpoint.trim()).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let polargrid_host =
        url.scheme() == "https" && (host == "polargrid.ai" || host.ends_with(".polargrid.ai"));
    let loopback_pair =
        is_loopback(router_base) && is_loopback(&url) && matches!(url.scheme(), "http" | "https");
    (polargrid_host || loopback_pair).then_some(url)
}

fn read_cache(file: &Path, router_base: &Url, model: &str, now_s: u64) -> Option<Route> {
    let text = std::fs::read_to_string(file).ok()?;
    let cached: CachedRoute = serde_json::from_str(&text).ok()?;
    let fresh = now_s >= cached.fetched_unix_s
        && now_s < cached.fetched_unix_s.saturating_add(cached.route.ttl);
    (cached.router_url == router_base.as_str() && cached.model == model && fresh)
        .then_some(cached.route)
}

/// Best effort: a cache that cannot be written only costs a router request next time.
fn write_cache(file: &Path, router_base: &Url, model: &str, now_s: u64, route: &Route) {
    let cached = CachedRoute {
        router_url: router_base.to_string(),
        model: model.to_string(),
        fetched_unix_s: now_s,
        route: route.clone(),
    };
    let Ok(text) = serde_json::to_string_pretty(&cached) else {
        return;
    };
    if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let _ = crate::files::create_private_dir_all(dir);
    }
    if let Err(error) = crate::files::write_atomically(file, text.as_bytes()) {
        log::info!(
            "cannot cache the PolarGrid route in {}: {error}",
            file.display()
        );
    }
}

fn unix_now_s() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(endpoint: Option<&str>) -> Route {
        Route {
            region: "nyc-01".into(),
            name: Some("New York".into()),
            endpoint: endpoint.map(str::to_string),
            ttl: 60,
        }
    }

    #[test]
    fn only_polargrid_hosts_or_loopback_pairs_are_trusted() {
        let real_router = Url::parse(DEFAULT_ROUTER_URL).unwrap();
        let local_router = Url::parse("http://127.0.0.1:9000").unwrap();
        assert!(
            trusted_edge(
                &real_router,
                &route(Some("https://api.nyc-01.edge.polargrid.ai"))
            )
            .is_some()
        );
        assert!(trusted_edge(&real_router, &route(Some("https://evil.example"))).is_none());
        assert!(
            trusted_edge(
                &real_router,
                &route(Some("http://api.nyc-01.edge.polargrid.ai"))
            )
            .is_none()
        );
        assert!(trusted_edge(&real_router, &route(Some("http://127.0.0.1:9001"))).is_none());
        assert!(trusted_edge(&local_router, &route(Some("http://127.0.0.1:9001"))).is_some());
        let from_region = trusted_edge(&real_router, &route(None)).unwrap();
        assert_eq!(
            from_region.as_str(),
            "https://api.nyc-01.edge.polargrid.ai/"
        );
    }

    #[test]
    fn the_cache_is_used_only_while_fresh_and_for_the_same_router_and_model() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub").join(ROUTE_CACHE_FILE);
        let router = Url::parse("http://127.0.0.1:9000").unwrap();
        write_cache(
            &file,
            &router,
            "whisper-large-v3-turbo",
            1_000,
            &route(Some("http://127.0.0.1:9001")),
        );
        assert!(read_cache(&file, &router, "whisper-large-v3-turbo", 1_030).is_some());
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, [ROUTE_CACHE_FILE], "no temporary file is left");
        assert!(
            read_cache(&file, &router, "whisper-large-v3-turbo", 1_060).is_none(),
            "expired after ttl"
        );
        assert!(read_cache(&file, &router, "cohere-transcribe-03-2026", 1_030).is_none());
        let other_router = Url::parse("http://127.0.0.1:9002").unwrap();
        assert!(read_cache(&file, &other_router, "whisper-large-v3-turbo", 1_030).is_none());
    }

    #[tokio::test]
    async fn an_unreachable_router_falls_back_to_toronto_with_a_warning() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let router = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let (sink, mut events) = EventSink::channel();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let choice = choose_edge(
            &client,
            &router,
            "whisper-large-v3-turbo",
            None,
            Duration::from_secs(2),
            &sink,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(choice.source, EdgeSource::Fallback);
        assert_eq!(
            choice.base.as_str(),
            "https://api.yto-01.edge.polargrid.ai/"
        );
        match events.try_recv().unwrap() {
            crate::events::EngineEvent::Warning { message } => {
                assert!(
                    message.starts_with("PolarGrid's autorouter could not be reached"),
                    "{message}"
                );
                assert!(message.ends_with("using Toronto (yto-01)"));
            }
            other => panic!("expected a warning, got {other:?}"),
        }
    }
}
