//! Where a webhook may be sent (API.md "Webhooks"): the SSRF rules, in one place.
//!
//! A webhook makes the server send a request to an address a tenant chose. Without these
//! rules a tenant could aim it at the server's own network: the cloud metadata service
//! (169.254.169.254), a database on 10.0.0.5, an admin port on localhost. So private
//! targets are refused unless the operator allows them (`CHALK_WEBHOOK_ALLOW_PRIVATE`,
//! for development and tests), and plain `http://` is only for such an allowed private
//! target: anything crossing the internet carries meeting data and a signature over TLS.
//!
//! The rules are applied twice: when a URL is configured ([`check_url`], which can only
//! judge a host written as an IP address or `localhost`), and at delivery time to the
//! address the host resolved to ([`check_address`]), because a name can point anywhere
//! and can change what it points to after it was configured.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The operator's choice about private targets; the default refuses them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// `CHALK_WEBHOOK_ALLOW_PRIVATE`: loopback, private and link-local targets (and plain
    /// `http://` to them) are allowed.
    pub allow_private: bool,
}

pub const HTTPS_REQUIRED: &str =
    "must be an https:// URL (http:// only to a private address the server allows)";
pub const PRIVATE_TARGET: &str = "must not point to localhost or to a loopback, private, \
     link-local, unique-local, multicast or unspecified address";

/// Whether `ip` is an address a webhook may reach only when private targets are allowed:
/// loopback, private (RFC 1918), link-local (the cloud metadata service among them),
/// shared/CGNAT (100.64.0.0/10), unique-local (fc00::/7), multicast, unspecified or
/// broadcast — also when written as an IPv6 address embedding an IPv4 one
/// (`::ffff:169.254.169.254`), which reaches the same host.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => embedded_v4(v6).map_or_else(|| private_v6(v6), private_v4),
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        // 0.0.0.0/8 "this network": Linux connects 0.x.y.z to the local host.
        || a == 0
        // 100.64.0.0/10: a provider's shared (CGNAT) network, not the internet.
        || (a == 100 && (64..128).contains(&b))
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique-local and fe80::/10 link-local.
        || first & 0xfe00 == 0xfc00
        || first & 0xffc0 == 0xfe80
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped `::ffff:a.b.c.d`, the deprecated
/// IPv4-compatible `::a.b.c.d` (which also covers `::` and `::1`, as 0.0.0.0 and 0.0.0.1,
/// both refused), and NAT64 `64:ff9b::a.b.c.d`, which a NAT64 gateway forwards.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    ip.to_ipv4()
}

/// `localhost` and its subdomains always resolve to loopback (RFC 6761).
fn is_localhost(domain: &str) -> bool {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    domain.eq_ignore_ascii_case("localhost") || domain.to_ascii_lowercase().ends_with(".localhost")
}

/// The check when a URL is configured. A host written as an IP address (in any form the
/// URL parser accepts: `0x7f.1` is 127.0.0.1) or as `localhost` is judged now; any other
/// name is judged by [`check_address`] once resolved, so here it only needs `https://`
/// (or, when private targets are allowed, `http://`, in case it resolves to one).
pub fn check_url(url: &Url, policy: TargetPolicy) -> Result<(), &'static str> {
    let private = match url.host() {
        Some(Host::Ipv4(ip)) => Some(is_private(ip.into())),
        Some(Host::Ipv6(ip)) => Some(is_private(ip.into())),
        Some(Host::Domain(domain)) if is_localhost(domain) => Some(true),
        Some(Host::Domain(_)) => None,
        None => return Err(HTTPS_REQUIRED),
    };
    decide(url.scheme(), private, policy)
}

/// The check at delivery time, of the address `url`'s host resolved to.
pub fn check_address(
    url: &Url,
    resolved: IpAddr,
    policy: TargetPolicy,
) -> Result<(), &'static str> {
    decide(url.scheme(), Some(is_private(resolved)), policy)
}

/// `private`: whether the target is private, or `None` when not known yet (a name).
fn decide(scheme: &str, private: Option<bool>, policy: TargetPolicy) -> Result<(), &'static str> {
    if private == Some(true) && !policy.allow_private {
        return Err(PRIVATE_TARGET);
    }
    match scheme {
        "https" => Ok(()),
        "http" if policy.allow_private && private != Some(false) => Ok(()),
        _ => Err(HTTPS_REQUIRED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy {
        allow_private: false,
    };
    const DEV: TargetPolicy = TargetPolicy {
        allow_private: true,
    };

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn check(url: &str, policy: TargetPolicy) -> Result<(), &'static str> {
        check_url(&Url::parse(url).unwrap(), policy)
    }

    #[test]
    fn private_addresses_in_every_form() {
        for private in [
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_private(ip(private)), "{private} is private");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "100.63.255.255",
            "169.255.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!is_private(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn configured_urls_by_host() {
        for url in [
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/hook",
            "https://[::1]/hook",
            "https://[::ffff:a9fe:a9fe]/hook",
            "https://0x7f.1/hook",
            "https://2130706433/hook",
            "https://localhost/hook",
            "https://LOCALHOST./hook",
            "https://api.localhost:8443/hook",
            "http://127.0.0.1:9000/hook",
        ] {
            assert_eq!(check(url, STRICT), Err(PRIVATE_TARGET), "{url}");
        }
        for url in ["http://example.com/hook", "http://93.184.216.34/hook"] {
            assert_eq!(check(url, STRICT), Err(HTTPS_REQUIRED), "{url}");
        }
        for url in [
            "https://hooks.example.com/chalk",
            "https://93.184.216.34/hook",
            "https://[2606:4700::1111]/hook",
            "https://localhost.example.com/hook",
        ] {
            assert_eq!(check(url, STRICT), Ok(()), "{url}");
        }
    }

    #[test]
    fn allowing_private_targets_allows_http_to_them_only() {
        for url in [
            "http://localhost:9000/hook",
            "http://127.0.0.1/hook",
            "https://169.254.169.254/",
            "http://[fd00::1]/hook",
            // A name may resolve to a private address; delivery checks what it resolved to.
            "http://receiver.internal/hook",
        ] {
            assert_eq!(check(url, DEV), Ok(()), "{url}");
        }
        assert_eq!(check("http://93.184.216.34/", DEV), Err(HTTPS_REQUIRED));
        assert_eq!(check("ftp://127.0.0.1/", DEV), Err(HTTPS_REQUIRED));
        assert_eq!(check("https://93.184.216.34/", DEV), Ok(()));
    }

    #[test]
    fn delivery_checks_the_resolved_address() {
        let https = Url::parse("https://hooks.example.com/chalk").unwrap();
        let http = Url::parse("http://receiver.internal/hook").unwrap();
        assert_eq!(check_address(&https, ip("93.184.216.34"), STRICT), Ok(()));
        assert_eq!(
            check_address(&https, ip("169.254.169.254"), STRICT),
            Err(PRIVATE_TARGET)
        );
        assert_eq!(check_address(&https, ip("10.0.0.1"), DEV), Ok(()));
        assert_eq!(check_address(&http, ip("10.0.0.1"), DEV), Ok(()));
        assert_eq!(
            check_address(&http, ip("93.184.216.34"), DEV),
            Err(HTTPS_REQUIRED)
        );
    }
}
