//! (being written)
use super::{Captured, FakeState};
use axum::response::{IntoResponse, Response};

pub(super) async fn handle(_state: &FakeState, _request: Captured) -> Response {
    axum::http::StatusCode::NOT_IMPLEMENTED.into_response()
}
