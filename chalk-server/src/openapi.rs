//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::routes::{api_keys, auth, config, ops, rooms, tenants};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chalk tenant API",
        description = "Tenants, config, scoped API keys, key rotation and API-key → JWT exchange. \
            Every error is `{\"error\": {\"code\", \"message\", \"details\"?, \"request_id\"}}`; every response \
            carries `X-Request-Id`. Request bodies reject unknown fields (422). Tenant credentials are \
            rate-limited per tenant (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`; 429 with `Retry-After`); \
            participant tokens per participant (`CHALK_PARTICIPANT_RATE_LIMIT`, default 120 a minute), apart from their tenant. \
            Failed authentication is throttled per client address (IPv6: per /64): after 20 `401 UNAUTHORIZED` answers \
            in a minute (`CHALK_AUTH_FAILURE_LIMIT`), that address's API requests are refused with 429 `RATE_LIMITED` \
            and `Retry-After` until the minute ends, before any credential they carry is checked. \
            A credential header sent twice is 400 like two credentials; the `Bearer` scheme is case-insensitive. \
            Page cursors are opaque and sealed: an altered one is 400."
    ),
    modifiers(&Security),
    tags(
        (name = "tenants", description = "Tenants and their config"),
        (name = "api-keys", description = "Scoped API keys"),
        (name = "auth", description = "API key → JWT exchange"),
        (name = "rooms", description = "Rooms and participants. Participant tokens (from adding a participant) \
            are Bearer JWTs valid only for their own room; they die when the participant is removed or replaced, \
            its tokens are refreshed, or the room ends. Browser requests carrying an `Origin` not in the tenant's \
            non-empty `allowed_origins` are refused with 403 `FORBIDDEN` naming the origin. CORS preflights carry \
            no credential, so they are answered for any http(s) origin (methods GET, POST, PATCH, DELETE; headers \
            Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-Id — never X-API-Key) and the origin \
            is enforced on the real request, which only gets `Access-Control-Allow-Origin` when allowed."),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "master_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Master-Key"))),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every documented route, registered with axum and with the document at once.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(tenants::create, tenants::list))
        .routes(routes!(tenants::get, tenants::update, tenants::delete))
        .routes(routes!(tenants::current))
        .routes(routes!(tenants::rotate_key))
        .routes(routes!(tenants::suspend))
        .routes(routes!(tenants::resume))
        .routes(routes!(config::get, config::update))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(rooms::create, rooms::list))
        .routes(routes!(rooms::get))
        .routes(routes!(rooms::end))
        .routes(routes!(rooms::add_participant))
        .routes(routes!(rooms::token))
        .routes(routes!(rooms::remove_participant))
        .routes(routes!(auth::token))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::revoke))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The document as served at `/api/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}
