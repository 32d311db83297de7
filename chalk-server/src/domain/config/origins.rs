//! Origins: how `allowed_origins` entries are normalized, and whether a request's `Origin`
//! header is allowed by them.

use url::Url;

pub(super) const NOT_AN_ORIGIN: &str =
    "must be an origin like https://app.example.com (scheme, host and optional port)";
pub(super) const ORIGIN_SCHEME: &str = "must start with http:// or https://";
pub(super) const ORIGIN_PATH: &str =
    "must not have a path, query or fragment (scheme, host and optional port only)";
pub(super) const ORIGIN_USERINFO: &str = "must not contain a user name or password";
pub(super) const ORIGIN_WILDCARD: &str =
    "wildcards are allowed only as the port of localhost (http://localhost:*)";

/// An `http(s)://host[:port]` origin, normalized as browsers send it in `Origin`: scheme
/// and host lowercase, default port dropped, so that equal origins compare equal.
pub(super) fn normalize_origin(raw: &str) -> Result<String, &'static str> {
    let origin = raw.trim();
    // A lone trailing slash is what copying from an address bar gives; same origin.
    let origin = origin.strip_suffix('/').unwrap_or(origin);
    if origin.contains('*') {
        return localhost_port_wildcard(origin).ok_or(ORIGIN_WILDCARD);
    }
    let (scheme, authority) = origin.split_once("://").ok_or(NOT_AN_ORIGIN)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(ORIGIN_SCHEME);
    }
    if authority.contains(['/', '?', '#', '\\']) {
        return Err(ORIGIN_PATH);
    }
    if authority.contains('@') {
        return Err(ORIGIN_USERINFO);
    }
    if authority.is_empty() || authority.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(NOT_AN_ORIGIN);
    }
    let url = Url::parse(&format!("{scheme}://{authority}")).map_err(|_| NOT_AN_ORIGIN)?;
    let host = url
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or(NOT_AN_ORIGIN)?;
    Ok(match url.port() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Whether a request's `Origin` header value is one of `allowed` (a tenant's normalized
/// `allowed_origins`). An empty list allows every origin. `http://localhost:*` allows
/// `http://localhost` on any port (likewise for https). A value that is not an origin
/// (`null`, garbage, a wildcard) is allowed only by an empty list.
pub fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Ok(origin) = normalize_origin(origin) else {
        return false;
    };
    if origin.contains('*') {
        return false;
    }
    allowed.iter().any(|entry| match entry.strip_suffix(":*") {
        Some(base) => {
            origin == base
                || origin
                    .strip_prefix(base)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .is_some_and(|port| {
                        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                    })
        }
        None => *entry == origin,
    })
}

/// `http://localhost:*` (or https): the one wildcard, for local development servers
/// whose port changes from run to run.
fn localhost_port_wildcard(origin: &str) -> Option<String> {
    let lower = origin.to_ascii_lowercase();
    matches!(lower.as_str(), "http://localhost:*" | "https://localhost:*").then_some(lower)
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn origins_match_exactly_or_by_the_localhost_port_wildcard() {
        let allowed = vec![
            "https://app.acme.edu".to_owned(),
            "http://localhost:*".to_owned(),
        ];
        assert!(origin_allowed(&[], "https://anything.example"));
        assert!(origin_allowed(&allowed, "https://app.acme.edu"));
        assert!(origin_allowed(&allowed, "HTTPS://App.Acme.edu"));
        assert!(origin_allowed(&allowed, "https://app.acme.edu:443"));
        assert!(origin_allowed(&allowed, "http://localhost:3000"));
        assert!(origin_allowed(&allowed, "http://localhost"));
        assert!(!origin_allowed(&allowed, "https://localhost:3000"));
        assert!(!origin_allowed(
            &allowed,
            "http://localhost.evil.example:3000"
        ));
        assert!(!origin_allowed(&allowed, "https://evil.example"));
        assert!(!origin_allowed(
            &allowed,
            "https://app.acme.edu.evil.example"
        ));
        assert!(!origin_allowed(&allowed, "null"));
        assert!(!origin_allowed(&allowed, "http://localhost:*"));
    }
}
