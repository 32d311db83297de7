//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Router;
use axum::routing::MethodRouter;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::{PathItemExt, routes};

use crate::http::routes::{
    api_keys, audit, auth, config, operator_keys, ops, rooms, signing_keys, tenants, usage,
    webhooks,
};
use crate::http::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chalk tenant API",
        description = "Tenants, config, scoped API keys, key rotation and API-key → JWT exchange. \
            Every error is `{\"error\": {\"code\", \"message\", \"details\"?, \"request_id\"}}`; every response \
            carries `X-Request-Id`. Request bodies reject unknown fields (422). Tenant credentials are \
            rate-limited per tenant (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`; 429 with `Retry-After`); \
            participant tokens per participant (`CHALK_PARTICIPANT_RATE_LIMIT`, default 120 a minute), apart from their tenant. \
            Every request counts against a limit whatever its outcome (a refused `Origin` or a suspended tenant's \
            credential against its tenant's; `/auth/refresh` too), so every `/api/v1` operation may answer 429. \
            Failed authentication is throttled per client address (IPv6: per /64): after 20 `401 UNAUTHORIZED` answers \
            in a minute (`CHALK_AUTH_FAILURE_LIMIT`), a request from that address whose credential does not verify is \
            answered 429 `RATE_LIMITED` with `Retry-After` instead of 401 until the minute ends; a credential that \
            verifies is served as usual. Public documents (JWKS, this document, health, readiness) are never throttled. \
            The client address is the TCP peer, or behind a proxy in `CHALK_TRUSTED_PROXIES` the right-most \
            `X-Forwarded-For` entry that is not a trusted proxy. \
            Denied attempts are audited at most once per credential and reason a minute, with a `count`. \
            A credential header sent twice is 400 like two credentials; the `Bearer` scheme is case-insensitive. \
            Page cursors are opaque and sealed: an altered one is 400."
    ),
    modifiers(&Security),
    // Schemas named only by a query parameter (`IntoParams`) are not collected from the
    // handlers: each is registered here so that its `$ref` resolves.
    components(schemas(chalk_sdk::model::EventType, chalk_sdk::model::Granularity)),
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
        (name = "signing-keys", description = "Token signing keys. Tokens are signed with Ed25519 (`EdDSA`) by the \
            current key and name it in their `kid` header; any service verifies them from `/.well-known/jwks.json` \
            without a secret. `CHALK_JWT_ALGORITHM=HS256` signs with `CHALK_JWT_SECRET` instead (no keys, empty JWKS)."),
        (name = "operator-keys", description = "Operator keys: named credentials with the master key's powers, \
            sent as `X-Master-Key`, that can expire and are revoked one by one (at once, on every instance)."),
        (name = "audit", description = "The append-only audit log: every change made through the API, and every \
            refused attempt that carried a credential. Nothing changes or deletes an entry through the API."),
        (name = "webhooks", description = "Signed HTTP callbacks of a tenant's events (Standard Webhooks:             `webhook-id`, `webhook-timestamp`, `webhook-signature` = `v1,` + base64 HMAC-SHA256 over             `{id}.{timestamp}.{body}`). Events are written in the transaction of the change that caused them;             each is delivered at least once to every subscribed endpoint, retried on the schedule             (`CHALK_WEBHOOK_RETRY_SCHEDULE`), then `exhausted`. `room.started` is the first participant's join;             a room's end produces `room.ended` and `meeting.ended` (participants let go by the end are in             its `attendance`, not in `participant.left` events)."),
        (name = "usage", description = "Usage metering per tenant and UTC hour, day or month: time \
            metrics written by the transactions that change participants and rooms (exact, counted once \
            across instances), request counters flushed from memory at least every 10 s. Deleted tenants' \
            usage is kept until purged."),
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

/// Every route of the API, in groups that share a path, split by whether they take a
/// credential: the one list that both the served router ([`served_router`]) and the
/// document ([`document`]) are built from, so neither can have a route the other lacks.
///
/// Authentication is explicit: the routes that take a credential carry the credential
/// middleware, the rest (health, metrics, the token exchange, which carries its key in the
/// body) do not. A handler that extracts a [`Caller`](crate::domain::caller::Caller)
/// outside the protected routes answers 500, and `tests/api/openapi.rs` calls every
/// documented operation to prove none does.
macro_rules! route_table {
    ($build:ident) => {
        $build! {
            protected: [
                [tenants::create, tenants::list],
                [tenants::get, tenants::update, tenants::delete],
                [tenants::current],
                [tenants::rotate_key],
                [tenants::suspend],
                [tenants::resume],
                [config::get, config::update],
                [api_keys::create, api_keys::list],
                [api_keys::revoke],
                [rooms::create, rooms::list],
                [rooms::get],
                [rooms::end],
                [rooms::add_participant],
                [rooms::token],
                [rooms::remove_participant],
                [signing_keys::list],
                [signing_keys::rotate],
                [webhooks::create_endpoint, webhooks::list_endpoints],
                [webhooks::get_endpoint, webhooks::update_endpoint, webhooks::delete_endpoint],
                [webhooks::rotate_secret],
                [webhooks::test_endpoint],
                [webhooks::list_events],
                [webhooks::list_deliveries],
                [webhooks::retry_delivery],
                [operator_keys::create, operator_keys::list],
                [operator_keys::revoke],
                [audit::list],
                [audit::list_for_tenant],
                [usage::get_tenant, usage::purge],
                [usage::export],
            ],
            public: [
                [auth::token],
                [auth::refresh],
                [auth::revoke],
                [ops::healthz],
                [ops::readyz],
                [ops::metrics],
                [signing_keys::jwks],
            ],
        }
    };
}

/// The router a server runs: each group of [`route_table`] at its path, with its methods,
/// and nothing of the document. Building the document costs ~10 ms of CPU (every
/// operation's schemas), which a starting server would otherwise spend before it answers;
/// the document is built on its first request instead (`http::router`).
pub fn served_router() -> Router<AppState> {
    macro_rules! served {
        (
            protected: [$([$($pm:ident :: $ph:ident),+]),* $(,)?],
            public: [$([$($qm:ident :: $qh:ident),+]),* $(,)?] $(,)?
        ) => {{
            let router = Router::new();
            $(
                let (path, handlers) = group!($($pm :: $ph),+);
                let router = router.route(&path, authenticated(handlers));
            )*
            $(
                let (path, handlers) = group!($($qm :: $qh),+);
                let router = router.route(&path, handlers);
            )*
            router
        }};
    }
    /// One group's path and its handlers, each on the methods its annotation documents.
    macro_rules! group {
        ($($m:ident :: $h:ident),+) => {{
            let mut path: Option<String> = None;
            let mut handlers = MethodRouter::new();
            $(
                pastey::paste! {
                    let this = <$m::[<__path_ $h>] as utoipa::Path>::path();
                    for method in <$m::[<__path_ $h>] as utoipa::Path>::methods() {
                        handlers = handlers.on(method.to_method_filter(), $m::$h);
                    }
                }
                debug_assert!(path.as_ref().is_none_or(|p| *p == this), "a group shares one path");
                path = Some(this);
            )+
            (path.unwrap_or_default(), handlers)
        }};
    }
    route_table!(served)
}

/// The credential middleware on one protected route's handlers. `MethodRouter::route_layer`
/// wraps only the methods the route serves, so a wrong method is a plain 405, whatever
/// headers it carries (a router-wide layer would also wrap the 405 fallback).
fn authenticated(handlers: MethodRouter<AppState>) -> MethodRouter<AppState> {
    handlers.route_layer(crate::http::credentials::Authenticated)
}

/// The OpenAPI document of every route of [`route_table`], as served at
/// `/api/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    macro_rules! documented {
        (
            protected: [$([$($pm:ident :: $ph:ident),+]),* $(,)?],
            public: [$([$($qm:ident :: $qh:ident),+]),* $(,)?] $(,)?
        ) => {
            OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
                $(.routes(routes!($($pm :: $ph),+)))*
                $(.routes(routes!($($qm :: $qh),+)))*
                .split_for_parts()
                .1
        };
    }
    route_table!(documented)
}
