//! Which address a service is reached at, and the rule that keeps keys off the open network.
//!
//! A service's base URL can be overridden (`--endpoint URL`, then `VERBATIM_<SERVICE>_URL`)
//! so the tests and `verbatim dev fake-server` can stand in for it. Keys travel in headers,
//! so an override must be `https://`, or plain `http://` to this machine only.

use super::CloudService;
use reqwest::Url;

/// Why an endpoint cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "{what} '{url}' is not a valid URL; give one like https://host or http://127.0.0.1:8080"
    )]
    Invalid { what: String, url: String },
    #[error(
        "{what} '{url}' uses plain http to another machine, which would send the key unencrypted; use https:// (plain http is only allowed for 127.0.0.1, ::1 or localhost)"
    )]
    PlainHttpToRemote { what: String, url: String },
    #[error("{what} '{url}' must start with https:// (or http:// for this machine)")]
    Scheme { what: String, url: String },
}

/// The base URL for `service`: `explicit` (from `--endpoint` or the settings), else the
/// service's `VERBATIM_<SERVICE>_URL`, else `default`. With an override, also what set it
/// (for [`key_destination_notice`]).
pub fn resolve_base_url(
    service: CloudService,
    explicit: Option<&str>,
    default: &str,
) -> Result<(Url, Option<String>), EndpointError> {
    let environment = std::env::var(service.url_env_var())
        .ok()
        .filter(|value| !value.trim().is_empty());
    let endpoint = format!("the {} endpoint", service.display_name());
    let (text, what, set_by) = match (
        explicit.filter(|value| !value.trim().is_empty()),
        environment.as_deref(),
    ) {
        (Some(url), _) => (
            url.to_string(),
            endpoint,
            Some("set by --endpoint or the Endpoint setting".to_string()),
        ),
        (None, Some(url)) => (
            url.to_string(),
            service.url_env_var().to_string(),
            Some(format!("set by {}", service.url_env_var())),
        ),
        (None, None) => (default.to_string(), endpoint, None),
    };
    Ok((parse_base_url(&text, &what)?, set_by))
}

/// The one line said before a key goes to an address other than its service's own:
/// "sending your Gradium key to http://127.0.0.1:1234 (set by VERBATIM_GRADIUM_URL), not the
/// service's own address"; `None` when `url` is the service's own. It shows the address
/// without user, password or query, and never the key.
pub fn key_destination_notice(service: CloudService, url: &Url, set_by: &str) -> Option<String> {
    if is_service_address(service, url) {
        return None;
    }
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path().trim_end_matches('/'));
    Some(format!(
        "sending your {} key to {shown} ({set_by}), not the service's own address",
        service.display_name()
    ))
}

/// Whether `url` is the service's own address (for PolarGrid, any of its https edges).
fn is_service_address(service: CloudService, url: &Url) -> bool {
    let own = Url::parse(service.default_base_url()).is_ok_and(|own| same_origin(&own, url));
    let polargrid_edge = service == CloudService::PolarGrid
        && url.scheme() == "https"
        && url.host_str().is_some_and(|host| {
            let host = host.to_ascii_lowercase();
            host == "polargrid.ai" || host.ends_with(".polargrid.ai")
        });
    own || polargrid_edge
}

/// [`resolve_base_url`] with the service's own default, its failure as an engine error.
pub fn service_base_url(
    service: CloudService,
    explicit: Option<&str>,
) -> Result<(Url, Option<String>), crate::engine::EngineError> {
    Ok(resolve_base_url(service, explicit, service.default_base_url())?)
}

/// Parses and checks a base URL: `https://` anywhere, `http://` only to a loopback address.
pub fn parse_base_url(text: &str, what: &str) -> Result<Url, EndpointError> {
    let text = text.trim();
    let url = Url::parse(text).map_err(|_| EndpointError::Invalid {
        what: what.into(),
        url: text.into(),
    })?;
    if url.host_str().is_none() || url.cannot_be_a_base() {
        return Err(EndpointError::Invalid {
            what: what.into(),
            url: text.into(),
        });
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(EndpointError::PlainHttpToRemote {
            what: what.into(),
            url: text.into(),
        }),
        _ => Err(EndpointError::Scheme {
            what: what.into(),
            url: text.into(),
        }),
    }
}

/// Whether the URL's host is this machine (a leaf helper the model downloader shares).
pub use crate::net::is_loopback;

/// `base` with `path` appended to whatever path it already has (`http://h/prefix` +
/// `/stt` = `http://h/prefix/stt`); the query is cleared.
pub fn join_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// Whether two URLs point at the same origin (scheme, host and port), which is where a key
/// may follow a redirect or a server-supplied link.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_only_for_this_machine() {
        assert!(parse_base_url("http://127.0.0.1:8080", "x").is_ok());
        assert!(parse_base_url("http://127.3.2.1", "x").is_ok());
        assert!(parse_base_url("http://[::1]:9000/base", "x").is_ok());
        assert!(parse_base_url("http://localhost:1234", "x").is_ok());
        assert!(parse_base_url("https://api.gradium.ai", "x").is_ok());
        let error = parse_base_url("http://192.168.1.5:8080", "the Gradium endpoint").unwrap_err();
        assert!(matches!(error, EndpointError::PlainHttpToRemote { .. }));
        assert!(error.to_string().contains("https://"));
        assert!(matches!(
            parse_base_url("http://example.com", "x"),
            Err(EndpointError::PlainHttpToRemote { .. })
        ));
        assert!(matches!(
            parse_base_url("ftp://127.0.0.1", "x"),
            Err(EndpointError::Scheme { .. })
        ));
        assert!(matches!(
            parse_base_url("not a url", "x"),
            Err(EndpointError::Invalid { .. })
        ));
    }

    #[test]
    fn a_key_sent_elsewhere_is_announced_without_secrets_in_the_address() {
        let url = Url::parse("http://user:pass@127.0.0.1:1234/?token=abc").unwrap();
        assert_eq!(
            key_destination_notice(CloudService::Gradium, &url, "set by VERBATIM_GRADIUM_URL")
                .as_deref(),
            Some(
                "sending your Gradium key to http://127.0.0.1:1234 (set by VERBATIM_GRADIUM_URL), not the service's own address"
            )
        );
        let url = Url::parse("https://proxy.example/gradium/").unwrap();
        assert!(
            key_destination_notice(CloudService::Gradium, &url, "x")
                .is_some_and(|notice| notice.contains("to https://proxy.example/gradium (x)"))
        );
        // The service's own address, named explicitly, is nothing to warn about.
        let own = Url::parse(CloudService::SixtyDb.default_base_url()).unwrap();
        assert_eq!(
            key_destination_notice(CloudService::SixtyDb, &own, "x"),
            None
        );
        let edge = Url::parse("https://api.nyc-01.edge.polargrid.ai").unwrap();
        assert_eq!(
            key_destination_notice(CloudService::PolarGrid, &edge, "x"),
            None
        );
        let (_, set_by) = resolve_base_url(
            CloudService::SixtyDb,
            Some("http://127.0.0.1:9"),
            own.as_str(),
        )
        .unwrap();
        assert_eq!(
            set_by.as_deref(),
            Some("set by --endpoint or the Endpoint setting")
        );
    }

    #[test]
    fn paths_are_appended_to_a_base_with_a_prefix() {
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(
            join_path(&base, "/stt").as_str(),
            "http://127.0.0.1:9/prefix/stt"
        );
        let base = Url::parse("https://api.60db.ai").unwrap();
        assert_eq!(join_path(&base, "/stt").as_str(), "https://api.60db.ai/stt");
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Url::parse("https://api.x.ai/a").unwrap();
        assert!(same_origin(
            &a,
            &Url::parse("https://api.x.ai:443/b?c").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://evil.example/a").unwrap()
        ));
        assert!(!same_origin(&a, &Url::parse("http://api.x.ai/a").unwrap()));
    }
}
