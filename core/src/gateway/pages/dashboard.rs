//! The dashboard: home, services, a service, an endpoint with its form, the API docs, and the
//! logs and status of services started by `micro run`.

use super::Visit;
use crate::gateway::routes::Reply;
use hyper::StatusCode;

/// Answers a dashboard page.
pub(super) async fn page(visit: &Visit<'_>) -> Reply {
    visit.error_page(StatusCode::NOT_FOUND, "no such page")
}
