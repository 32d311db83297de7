//! The OpenAPI document: a committed snapshot, and proof that it and the router agree.

use axum::http::Method;
use serde_json::Value;

use crate::common::*;

fn document() -> Value {
    serde_json::to_value(chalk_server::openapi::document()).unwrap()
}

#[test]
fn the_document_matches_its_snapshot() {
    insta::assert_json_snapshot!("openapi", document());
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn concrete(path: &str) -> String {
    path.replace("{id}", "tenant_nope")
        .replace("{key_id}", "key_nope")
}

/// Every operation in the document is a route of the router, and every other method on
/// a documented path is 405: the document and the router are one list.
#[tokio::test]
async fn every_documented_operation_is_routed_and_nothing_else_is() {
    let app = test_app().await;
    let doc = document();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 14, "{:?}", paths.keys());
    for (path, item) in paths {
        for method in METHODS {
            let response = app
                .call(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &concrete(path),
                )
                .master()
                .send()
                .await;
            if item.get(method).is_some() {
                assert_ne!(
                    response.status, 405,
                    "{method} {path} is documented but not routed"
                );
                // A 404 here must be the handler's "no such tenant", never "no such endpoint".
                if response.status == 404 {
                    assert_ne!(response.message(), "No such endpoint", "{method} {path}");
                }
            } else {
                response.assert_error(405, "METHOD_NOT_ALLOWED");
            }
        }
    }
}

fn error_schema_ok(response: &Value) -> bool {
    response["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .is_some_and(|r| r.ends_with("/ErrorEnvelope"))
}

/// Each operation documents the errors it can answer, all with the error envelope.
#[test]
fn every_operation_documents_its_errors() {
    let doc = document();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let name = format!("{method} {path}");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{name}: no success response"
            );
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        error_schema_ok(response),
                        "{name} {status}: not the error envelope"
                    );
                }
            }
            if !path.starts_with("/api/") {
                continue;
            }
            let mut expected = vec!["400"];
            if op.get("security").is_some() {
                // Any credential may be refused, and a tenant's is rate-limited.
                expected.extend(["401", "429"]);
            }
            if op.get("requestBody").is_some() {
                expected.extend(["413", "415", "422"]);
            }
            if path.contains("{id}") {
                expected.extend(["403", "404"]);
            }
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{name} does not document {status}: {:?}",
                    responses.keys()
                );
            }
            assert!(op.get("operationId").is_some(), "{name}");
            assert!(op.get("tags").is_some(), "{name}");
        }
    }
    assert!(operations >= 17, "{operations}");
}

/// Authentication is applied by an explicit protected router: no documented operation,
/// called without a credential or with a wrong one, reaches a handler that needs a caller
/// without one (which would answer 500).
#[tokio::test]
async fn no_documented_operation_reaches_a_handler_without_a_resolved_caller() {
    let app = test_app().await;
    let doc = document();
    let mut calls = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_none() {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let path = concrete(path).replace("{pid}", "part_nope");
            for credential in [None, Some("sk_live_not_a_real_key_0000000000")] {
                let mut call = app.call(method.clone(), &path);
                if let Some(key) = credential {
                    call = call.key(key);
                }
                if method != Method::GET && method != Method::DELETE {
                    call = call.json(serde_json::json!({}));
                }
                let response = call.send().await;
                calls += 1;
                assert_ne!(response.status, 500, "{method} {path}: {}", response.text);
            }
        }
    }
    assert!(calls >= 40, "{calls}");
}

/// Issue 25: every `/api/v1` operation of the document the server serves lists 429, with
/// the error envelope (a rate limit or the failed-authentication throttle can answer any
/// of them).
#[tokio::test]
async fn every_api_v1_operation_of_the_served_document_documents_429() {
    let app = test_app().await;
    let served = app.get("/api/v1/openapi.json").send().await;
    served.assert_status(200);
    let mut operations = Vec::new();
    for (path, item) in served.body["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let name = format!("{method} {path}");
            let limited = &op["responses"]["429"];
            assert!(
                error_schema_ok(limited),
                "{name} does not document 429 with the error envelope: {:?}",
                op["responses"].as_object().unwrap().keys()
            );
            operations.push(name);
        }
    }
    assert!(
        operations.contains(&"post /api/v1/auth/refresh".to_owned())
            && operations.contains(&"post /api/v1/auth/revoke".to_owned())
            && operations.len() >= 40,
        "{operations:?}"
    );
}

/// `docs/api.md` is the contract a user reads: every path of the document the server
/// serves appears in it, written as the document writes it (`/api/v1/tenants/{id}/config`).
#[tokio::test]
async fn every_served_path_appears_in_docs_api_md() {
    let app = test_app().await;
    let served = app.get("/api/v1/openapi.json").send().await;
    served.assert_status(200);
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md");
    let contract = std::fs::read_to_string(&docs)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", docs.display()));
    let paths = served.body["paths"].as_object().unwrap();
    assert!(paths.len() >= 30, "{:?}", paths.keys());
    let missing: Vec<&str> = paths
        .keys()
        .map(String::as_str)
        .filter(|path| !mentions(&contract, path))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/api.md does not mention these served paths (add them to its endpoint table): {missing:?}"
    );
}

/// Whether `text` names `path` as a whole: `/api/v1/tenants` inside
/// `/api/v1/tenants/{id}` does not count.
fn mentions(text: &str, path: &str) -> bool {
    let part_of_path = |c: char| c.is_ascii_alphanumeric() || "/{}_.-".contains(c);
    text.match_indices(path).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + path.len()..].chars().next();
        !before.is_some_and(part_of_path) && !after.is_some_and(part_of_path)
    })
}
