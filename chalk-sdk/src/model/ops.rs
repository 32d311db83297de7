//! Operations: liveness and readiness answers.

use serde::{Deserialize, Serialize};

/// `GET /healthz` and `GET /readyz` (not wrapped in `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` (process up) or `ready` (store reachable).
    pub status: String,
}
