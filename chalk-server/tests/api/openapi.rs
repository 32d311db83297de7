//! The OpenAPI document: a committed snapshot, and proof that it and the router agree.

use axum::http::Method;
use serde_json::Value;

use crate::common::*;

fn document() -> Value {
    serde_json::to_value(chalk_server::http::openapi::document()).unwrap()
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

/// Every `$ref` of the served document names a schema it defines: a schema named only by
/// a query parameter (`IntoParams`) is not collected from the handlers, and an unresolvable
/// reference makes a client generator or a fuzzer (schemathesis) skip that parameter.
#[tokio::test]
async fn every_reference_of_the_served_document_resolves() {
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let app = test_app().await;
    let served = app.get("/api/v1/openapi.json").send().await;
    served.assert_status(200);
    let mut found = Vec::new();
    refs(&served.body, &mut found);
    assert!(found.len() > 100, "{}", found.len());
    let schemas = served.body["components"]["schemas"].as_object().unwrap();
    let unresolved: Vec<&str> = found
        .into_iter()
        .filter(|target| {
            target
                .strip_prefix("#/components/schemas/")
                .is_none_or(|name| !schemas.contains_key(name))
        })
        .collect();
    assert!(unresolved.is_empty(), "unresolvable: {unresolved:?}");
    // The one that was missing: `GET /tenants/{id}/events?type=`.
    assert!(
        schemas["EventType"]["enum"]
            .as_array()
            .is_some_and(|types| types.contains(&Value::from("room.ended")))
    );
}

/// The cheap form of a schemathesis run: every documented operation is called in the
/// situations any client can produce (no credential, an unknown key, two credentials, a
/// suspended tenant's key, the master key and a tenant key on ids that exist or not, an
/// empty, malformed, unknown-field or non-JSON body, a bad page size, a stale `If-Match`),
/// and whatever status the server answers must be one the operation documents.
#[tokio::test]
async fn every_status_the_server_answers_is_documented_for_its_operation() {
    let app = test_app().await;
    let own = app.tenant("documented statuses").await;
    let suspended = app.tenant("documented statuses, suspended").await;
    app.post(&format!("/api/v1/tenants/{}/suspend", suspended.id))
        .master()
        .send()
        .await
        .assert_status(200);
    let served = app.get("/api/v1/openapi.json").send().await;
    served.assert_status(200);

    #[derive(Clone, Copy, Debug)]
    enum Credential {
        None,
        Master,
        Own,
        Unknown,
        Suspended,
        Two,
    }
    #[derive(Clone, Copy, Debug)]
    enum Body {
        Empty,
        Object,
        UnknownField,
        Malformed,
        NotJson,
    }
    let mut undocumented = Vec::new();
    let mut calls = 0;
    for (template, item) in served.body["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let responses = op["responses"].as_object().unwrap();
            let takes_body = op.get("requestBody").is_some();
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Ids that exist (the tenant's own) and ids that do not.
            let paths = [
                template
                    .replace("{id}", &own.id)
                    .replace("{key_id}", &own.key_id),
                concrete(template),
            ];
            for (n, path) in paths.into_iter().enumerate() {
                // The tenant's own id is kept alive and usable for the paths after this one.
                let destructive = (method == "delete" && template == "/api/v1/tenants/{id}")
                    || template.ends_with("/rotate-key")
                    || template.ends_with("/suspend");
                if n == 0 && destructive {
                    continue;
                }
                let path = path
                    .replace("{pid}", "part_nope")
                    .replace("{eid}", "we_nope")
                    .replace("{did}", "whd_nope");
                for credential in [
                    Credential::None,
                    Credential::Unknown,
                    Credential::Two,
                    Credential::Suspended,
                    Credential::Master,
                    Credential::Own,
                ] {
                    let bodies: &[Body] = if takes_body {
                        &[
                            Body::Object,
                            Body::Empty,
                            Body::UnknownField,
                            Body::Malformed,
                            Body::NotJson,
                        ]
                    } else {
                        &[Body::Empty]
                    };
                    for &body in bodies {
                        for query in ["", "?limit=0"] {
                            let mut call = app.call(http_method.clone(), &format!("{path}{query}"));
                            call = match credential {
                                Credential::None => call,
                                Credential::Master => call.master(),
                                Credential::Own => call.key(&own.key),
                                Credential::Unknown => {
                                    call.key("sk_live_not_a_real_key_0000000000")
                                }
                                Credential::Suspended => call.key(&suspended.key),
                                Credential::Two => call.master().key(&own.key),
                            };
                            if method == "patch" {
                                call = call.header("If-Match", "\"999999\"");
                            }
                            call = match body {
                                Body::Empty => call,
                                Body::Object => call.json(serde_json::json!({})),
                                Body::UnknownField => call.json(serde_json::json!({"zzz": 1})),
                                Body::Malformed => call
                                    .header("Content-Type", "application/json")
                                    .raw("{\"name\":"),
                                Body::NotJson => {
                                    call.header("Content-Type", "text/plain").raw("name")
                                }
                            };
                            let response = call.send().await;
                            calls += 1;
                            let status = response.status.to_string();
                            if !responses.contains_key(&status) {
                                undocumented.push(format!(
                                    "{method} {template} answered {status} to {path}{query} \
                                     ({credential:?}, {body:?}): {}",
                                    response.text
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(calls >= 1000, "{calls}");
    assert!(
        undocumented.is_empty(),
        "{} undocumented statuses:\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
}
