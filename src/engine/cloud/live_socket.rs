//! What the live services' WebSocket clients share: the socket address from the service's base
//! URL (`wss://`, or `ws://` to this machine only, by the same rule as `https`/`http` in
//! [`super::endpoint`]), opening the socket within the connect timeout, sending JSON, and
//! reading what comes back as text, a close or a lost connection — never the key in a
//! message.

use super::endpoint::join_path;
use super::http::one_line_excerpt;
use super::{ApiKey, CloudOptions, CloudService, NetworkOptions};
use crate::engine::EngineError;
use crate::engine::live::LiveOptions;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use reqwest::Url;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// What arrives on a socket.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    /// A text message.
    Text(String),
    /// The server closed the socket, with its code and reason when it gave them.
    Closed { code: Option<u16>, reason: String },
    /// The connection broke without a close (or could not be read).
    Lost(String),
}

/// An open socket to one service, split so it can be read while audio is sent.
pub(crate) struct LiveSocket {
    service: CloudService,
    writer: SplitSink<Socket, Message>,
    reader: SplitStream<Socket>,
    key: ApiKey,
}

/// A live engine of one service, with that service's settings `O`: its socket address, key,
/// network and live settings. Each service's module names its engine as this type and
/// implements the protocol on it; building it is the same for both.
pub struct LiveServiceEngine<O> {
    pub(crate) url: Url,
    pub(crate) key: ApiKey,
    pub(crate) network: NetworkOptions,
    pub(crate) live: LiveOptions,
    pub(crate) options: O,
}

impl<O: Clone> LiveServiceEngine<O> {
    /// The engine for `service` with its settings `own` (and their check's verdict), reached at
    /// `path` below its base URL (`endpoint`, else `VERBATIM_<SERVICE>_URL`, else its default).
    /// Fails with a one-line message when a setting is not valid.
    pub(crate) fn build(
        service: CloudService,
        cloud: &CloudOptions,
        (own, own_check): (&O, Result<(), String>),
        endpoint: Option<&str>,
        path: &str,
        live: &LiveOptions,
        key: ApiKey,
    ) -> Result<LiveServiceEngine<O>, EngineError> {
        cloud.network.validate().map_err(EngineError::Service)?;
        own_check.map_err(EngineError::Service)?;
        live.validate().map_err(EngineError::Service)?;
        let (base, _) = super::endpoint::service_base_url(service, endpoint)?;
        Ok(LiveServiceEngine {
            url: socket_url(&base, path),
            key,
            network: cloud.network.clone(),
            live: live.clone(),
            options: own.clone(),
        })
    }
}

/// `base` + `path` as a WebSocket address: `https` becomes `wss`, `http` (allowed only to
/// this machine) becomes `ws`.
pub(crate) fn socket_url(base: &Url, path: &str) -> Url {
    let mut url = join_path(base, path);
    let scheme = if url.scheme() == "http" { "ws" } else { "wss" };
    // Both are special schemes, so the change cannot be refused.
    let _ = url.set_scheme(scheme);
    url
}

impl LiveSocket {
    /// Opens the socket with these extra headers on the upgrade request. A refused upgrade
    /// (HTTP 401/403) is a rejected key; every message is scrubbed of the key, so a key in
    /// the URL's query never shows.
    pub(crate) async fn connect(
        service: CloudService,
        url: &Url,
        headers: &[(&'static str, String)],
        network: &NetworkOptions,
        key: &ApiKey,
        cancel: &CancellationToken,
    ) -> Result<LiveSocket, EngineError> {
        let name = service.display_name();
        let mut request = url.as_str().into_client_request().map_err(|error| {
            EngineError::Service(format!(
                "the {name} live address is not valid ({}); check the endpoint",
                one_line_excerpt(&key.scrub(&error.to_string()))
            ))
        })?;
        for (header, value) in headers {
            let value = HeaderValue::from_str(value)
                .map_err(|_| EngineError::Service(format!("a {name} header is not valid text; check the key")))?;
            request.headers_mut().insert(*header, value);
        }
        let timeout = Duration::from_secs_f64(network.connect_timeout_s);
        let connecting = tokio_tungstenite::connect_async_with_config(request, None, false);
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(EngineError::Cancelled),
            outcome = tokio::time::timeout(timeout, connecting) => outcome,
        };
        match outcome {
            Err(_) => Err(EngineError::Service(format!(
                "{name} did not accept the live connection within {} s; check the network and try again",
                network.connect_timeout_s
            ))),
            Ok(Err(error)) => Err(handshake_error(service, &error, key)),
            Ok(Ok((socket, _response))) => {
                let (writer, reader) = socket.split();
                Ok(LiveSocket { service, writer, reader, key: key.clone() })
            }
        }
    }

    /// Sends one JSON text message.
    pub(crate) async fn send_json(&mut self, message: &serde_json::Value) -> Result<(), EngineError> {
        self.writer.send(Message::text(message.to_string())).await.map_err(|error| self.lost(&error))
    }

    /// Closes the socket from this side (errors are of no interest any more).
    pub(crate) async fn close(&mut self) {
        let _ = self.writer.close().await;
    }

    /// The next text message, close or failure; pings and binary frames are skipped.
    /// Cancel-safe.
    pub(crate) async fn next(&mut self) -> Incoming {
        loop {
            match self.reader.next().await {
                Some(Ok(Message::Text(text))) => return Incoming::Text(text.to_string()),
                Some(Ok(Message::Close(frame))) => {
                    return match frame {
                        Some(frame) => Incoming::Closed {
                            code: Some(u16::from(frame.code)),
                            reason: one_line_excerpt(&self.key.scrub(&frame.reason)),
                        },
                        None => Incoming::Closed { code: None, reason: String::new() },
                    };
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Incoming::Lost(self.describe(&error)),
                None => return Incoming::Lost("the connection closed".into()),
            }
        }
    }

    fn describe(&self, error: &tungstenite::Error) -> String {
        one_line_excerpt(&self.key.scrub(&error.to_string()))
    }

    fn lost(&self, error: &tungstenite::Error) -> EngineError {
        EngineError::Service(format!(
            "the connection to {} was lost ({}); the text so far is kept",
            self.service.display_name(),
            self.describe(error)
        ))
    }
}

fn handshake_error(service: CloudService, error: &tungstenite::Error, key: &ApiKey) -> EngineError {
    let name = service.display_name();
    match error {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            let detail = one_line_excerpt(&key.scrub(&format!("HTTP {status} {body}")));
            if status.as_u16() == 401 || status.as_u16() == 403 {
                EngineError::KeyRejected { service, detail }
            } else {
                EngineError::Service(format!("{name} refused the live connection ({detail}); try again later"))
            }
        }
        other => EngineError::Service(format!(
            "could not open the live connection to {name} ({}); check the network and try again",
            one_line_excerpt(&key.scrub(&other.to_string()))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_follow_the_base_url() {
        let base = Url::parse("https://api.gradium.ai").unwrap();
        assert_eq!(socket_url(&base, "/api/speech/asr").as_str(), "wss://api.gradium.ai/api/speech/asr");
        let base = Url::parse("http://127.0.0.1:9000/prefix/").unwrap();
        assert_eq!(socket_url(&base, "/ws/stt").as_str(), "ws://127.0.0.1:9000/prefix/ws/stt");
    }
}
