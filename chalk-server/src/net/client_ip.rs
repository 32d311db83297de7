//! The client address (docs/api.md Credentials): the TCP peer, or — when the peer is one of
//! `CHALK_TRUSTED_PROXIES` — the right-most `X-Forwarded-For` entry that is not itself a
//! trusted proxy. `X-Forwarded-For` from any other peer is ignored: anyone can write it.
//!
//! [`client_ip`] is the one computation. `context::request_context` runs it once per
//! request and leaves a [`ClientIp`] beside the request; the failed-authentication
//! throttle, open registration's per-address limit and the audit log's `client_ip` all
//! read that, so the three can never disagree about who the client is.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The networks whose `X-Forwarded-For` is believed (`CHALK_TRUSTED_PROXIES`). Empty by
/// default: then the client is always the TCP peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated CIDRs (`10.0.0.0/8, 2001:db8::/32`); a bare address is that one
    /// host. An empty text is none.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!(
                        "CHALK_TRUSTED_PROXIES: {entry:?} is not a CIDR (e.g. 10.0.0.0/8, 192.168.1.5/32, fd00::/8)"
                    )
                })?,
            };
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

/// The client address of a request, in its extensions (`None`: an in-process caller with
/// no peer, recorded as `unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

/// An IPv4 client reaching an IPv6 socket shows as `::ffff:a.b.c.d`: it is `a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, with a port or in brackets as some proxies
/// write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })
        .map(canonical)
}

/// Who the client is, given the TCP `peer`, the request's headers and the trusted proxies.
///
/// From a trusted peer, `X-Forwarded-For` is read right to left (every header line, in
/// order): each trusted proxy appended the address it saw, so the first entry that is not
/// a trusted proxy is the client. Entries left of it were written by the client itself and
/// are never believed. When every entry is a trusted proxy, or the next one cannot be
/// parsed, the client is the last trusted hop seen: nothing further out is known.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let peer = canonical(peer?);
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let entries: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut nearest = peer;
    for entry in entries.iter().rev() {
        match parse_entry(entry) {
            Some(ip) if trusted.contains(ip) => nearest = ip,
            Some(ip) => return Some(ip),
            None => break,
        }
    }
    Some(nearest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(FORWARDED_FOR, HeaderValue::from_str(line).unwrap());
        }
        map
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn parses_cidrs_and_bare_addresses_and_refuses_the_rest() {
        let trusted = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.5 ,fd00::/8").unwrap();
        assert!(trusted.contains("10.1.2.3".parse().unwrap()));
        assert!(trusted.contains("192.168.1.5".parse().unwrap()));
        assert!(!trusted.contains("192.168.1.6".parse().unwrap()));
        assert!(trusted.contains("fd12::1".parse().unwrap()));
        assert!(trusted.contains("::ffff:10.9.9.9".parse().unwrap()));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in [
            "10.0.0.0/33",
            "proxy.internal",
            "10.0.0/8",
            "10.0.0.0/8,nope",
        ] {
            let error = TrustedProxies::parse(bad).unwrap_err();
            assert!(error.contains("CHALK_TRUSTED_PROXIES"), "{error}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_peer() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let forged = headers(&["198.51.100.9"]);
        // Untrusted peer: the header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.7"), &forged, &trusted),
            ip("203.0.113.7")
        );
        // No proxies configured: ignored even from a private address.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &forged, &TrustedProxies::default()),
            ip("10.0.0.1")
        );
        // Trusted peer: the right-most entry that is not a trusted proxy; what the client
        // wrote to the left of it is not believed.
        let chain = headers(&["1.1.1.1, 198.51.100.9", "10.0.0.2"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&["[2001:db8::5]:443"]), &trusted),
            ip("2001:db8::5")
        );
        // Only trusted hops, or garbage next: the nearest trusted hop.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&["10.0.0.3"]), &trusted),
            ip("10.0.0.3")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&["1.2.3.4, junk"]), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(client_ip(None, &chain, &trusted), None);
    }
}
