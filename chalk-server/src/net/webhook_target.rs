//! Where a webhook may be sent (docs/api.md "Webhooks", "Hardening rules"): the SSRF rules, in
//! one place.
//!
//! A webhook makes the server send a request to an address a tenant chose. Without these
//! rules a tenant could aim it at the server's own network: the cloud metadata service
//! (169.254.169.254), a database on 10.0.0.5, an admin port on localhost — or reach them
//! through a translator: a NAT64 gateway (`64:ff9b::a9fe:a9fe`), a 6to4 relay
//! (`2002:a9fe:a9fe::`), a Teredo tunnel. So every address of the IANA special-purpose
//! registries ([`SPECIAL_PURPOSE`]) is refused unless the operator allows it
//! (`CHALK_WEBHOOK_ALLOW_PRIVATE`, for development and tests), and plain `http://` is only
//! for such an allowed target: anything crossing the internet carries meeting data and a
//! signature over TLS.
//!
//! The rules are applied twice: when a URL is configured ([`check_url`], which can only
//! judge a host written as an IP address or `localhost`), and at delivery time to the
//! address the host resolved to ([`check_address`]), because a name can point anywhere
//! and can change what it points to after it was configured.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use url::{Host, Url};

/// The operator's choice about special-purpose targets; the default refuses them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// `CHALK_WEBHOOK_ALLOW_PRIVATE`: targets in a special-purpose range — loopback,
    /// private, link-local and the rest of [`SPECIAL_PURPOSE`] — are allowed, and plain
    /// `http://` to them.
    pub allow_private: bool,
}

pub const HTTPS_REQUIRED: &str =
    "must be an https:// URL (http:// only to a private address the server allows)";
pub const PRIVATE_TARGET: &str = "must not point to localhost or to a special-purpose address \
     (loopback, private, link-local, unique-local, multicast, unspecified, documentation, \
     benchmarking, translation or reserved: see the IANA special-purpose address registries)";

/// How an address in a range is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Never a webhook target.
    Refused,
    /// IPv4-mapped IPv6 (`::ffff:a.b.c.d`): a socket sends it to the IPv4 address it
    /// carries, so that address is judged instead.
    EmbeddedIpv4,
}

/// One range of the table: a CIDR, its registry name and where it is defined.
#[derive(Debug, Clone, Copy)]
pub struct SpecialRange {
    pub cidr: &'static str,
    pub name: &'static str,
    pub source: &'static str,
    pub treatment: Treatment,
}

const fn refused(cidr: &'static str, name: &'static str, source: &'static str) -> SpecialRange {
    SpecialRange {
        cidr,
        name,
        source,
        treatment: Treatment::Refused,
    }
}

/// The IANA IPv4 and IPv6 special-purpose address registries
/// (iana.org/assignments/iana-ipv4-special-registry, …/iana-ipv6-special-registry), every
/// entry, whatever its "globally reachable" column says: a NAT64 prefix or an AS112
/// anycast block reaches no tenant's receiver either. Beyond them, marked as such, the
/// blocks of the address-space registries that are not unicast to the internet either:
/// multicast, reserved, deprecated site-local and IPv4-compatible IPv6. Sub-entries of a
/// larger entry are kept, so the table reads against the registry line by line.
pub const SPECIAL_PURPOSE: &[SpecialRange] = &[
    // IPv4 special-purpose registry.
    refused("0.0.0.0/8", "This network", "RFC 791"),
    refused("0.0.0.0/32", "This host on this network", "RFC 1122"),
    refused("10.0.0.0/8", "Private-Use", "RFC 1918"),
    refused("100.64.0.0/10", "Shared Address Space", "RFC 6598"),
    refused("127.0.0.0/8", "Loopback", "RFC 1122"),
    refused("169.254.0.0/16", "Link Local", "RFC 3927"),
    refused("172.16.0.0/12", "Private-Use", "RFC 1918"),
    refused("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890"),
    refused("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335"),
    refused("192.0.0.8/32", "IPv4 dummy address", "RFC 7600"),
    refused("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723"),
    refused(
        "192.0.0.10/32",
        "Traversal Using Relays around NAT Anycast",
        "RFC 8155",
    ),
    refused("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880"),
    refused("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880"),
    refused("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737"),
    refused("192.31.196.0/24", "AS112-v4", "RFC 7535"),
    refused("192.52.193.0/24", "AMT", "RFC 7450"),
    refused(
        "192.88.99.0/24",
        "Deprecated (6to4 Relay Anycast)",
        "RFC 7526",
    ),
    refused("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751"),
    refused("192.168.0.0/16", "Private-Use", "RFC 1918"),
    refused(
        "192.175.48.0/24",
        "Direct Delegation AS112 Service",
        "RFC 7534",
    ),
    refused("198.18.0.0/15", "Benchmarking", "RFC 2544"),
    refused("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737"),
    refused("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737"),
    refused("240.0.0.0/4", "Reserved", "RFC 1112"),
    refused("255.255.255.255/32", "Limited Broadcast", "RFC 8190"),
    // IPv4 address-space registry: not unicast.
    refused("224.0.0.0/4", "Multicast", "RFC 5771"),
    // IPv6 special-purpose registry.
    refused("::1/128", "Loopback Address", "RFC 4291"),
    refused("::/128", "Unspecified Address", "RFC 4291"),
    SpecialRange {
        cidr: "::ffff:0:0/96",
        name: "IPv4-mapped Address",
        source: "RFC 4291",
        treatment: Treatment::EmbeddedIpv4,
    },
    refused("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052"),
    refused("64:ff9b:1::/48", "IPv4-IPv6 Translat.", "RFC 8215"),
    refused("100::/64", "Discard-Only Address Block", "RFC 6666"),
    refused("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780"),
    refused("2001::/23", "IETF Protocol Assignments", "RFC 2928"),
    refused("2001::/32", "TEREDO", "RFC 4380"),
    refused("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723"),
    refused(
        "2001:1::2/128",
        "Traversal Using Relays around NAT Anycast",
        "RFC 8155",
    ),
    refused(
        "2001:1::3/128",
        "DNS-SD Service Registration Protocol Anycast",
        "RFC 9665",
    ),
    refused("2001:2::/48", "Benchmarking", "RFC 5180"),
    refused("2001:3::/32", "AMT", "RFC 7450"),
    refused("2001:4:112::/48", "AS112-v6", "RFC 7535"),
    refused("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843"),
    refused("2001:20::/28", "ORCHIDv2", "RFC 7343"),
    refused(
        "2001:30::/28",
        "Drone Remote ID Protocol Entity Tags (DETs) Prefix",
        "RFC 9374",
    ),
    refused("2001:db8::/32", "Documentation", "RFC 3849"),
    refused("2002::/16", "6to4", "RFC 3056"),
    refused(
        "2620:4f:8000::/48",
        "Direct Delegation AS112 Service",
        "RFC 7534",
    ),
    refused("3fff::/20", "Documentation", "RFC 9637"),
    refused("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602"),
    refused("fc00::/7", "Unique-Local", "RFC 4193"),
    refused("fe80::/10", "Link-Local Unicast", "RFC 4291"),
    // IPv6 address-space registry: not unicast to the internet.
    refused("::/96", "IPv4-compatible Address (deprecated)", "RFC 4291"),
    refused("fec0::/10", "Site-Local (deprecated)", "RFC 3879"),
    refused("ff00::/8", "Multicast", "RFC 4291"),
];

/// A parsed CIDR: the network address and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `address/prefix`; `None` when malformed or when bits beyond the prefix are
    /// set (a typo in the table must not silently widen or narrow a range).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = text.split_once('/')?;
        let network: IpAddr = address.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let cidr = Cidr { network, prefix };
        (prefix <= cidr.bits() && cidr.first() == network).then_some(cidr)
    }

    fn bits(&self) -> u8 {
        match self.network {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }

    /// The host part's mask (all ones past the prefix), as a u128 of the family's width.
    fn host_mask(&self) -> u128 {
        let host_bits = u32::from(self.bits() - self.prefix);
        1u128.checked_shl(host_bits).map_or(u128::MAX, |b| b - 1)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                number(ip) & !self.host_mask() == number(self.network) & !self.host_mask()
            }
            _ => false,
        }
    }

    pub fn first(&self) -> IpAddr {
        self.with_number(number(self.network) & !self.host_mask())
    }

    pub fn last(&self) -> IpAddr {
        self.with_number(number(self.network) | self.host_mask())
    }

    /// The address `n` past the network address (wrapping within the range).
    pub fn nth(&self, n: u128) -> IpAddr {
        self.with_number(number(self.first()) + (n & self.host_mask()))
    }

    fn with_number(&self, n: u128) -> IpAddr {
        match self.network {
            // The mask keeps an IPv4 range's numbers within 32 bits.
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
        }
    }
}

fn number(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// [`SPECIAL_PURPOSE`] parsed once, in the same order.
static RANGES: LazyLock<Vec<(Cidr, &'static SpecialRange)>> = LazyLock::new(|| {
    SPECIAL_PURPOSE
        .iter()
        .map(|range| {
            let cidr = Cidr::parse(range.cidr)
                .unwrap_or_else(|| panic!("bad CIDR in SPECIAL_PURPOSE: {}", range.cidr));
            (cidr, range)
        })
        .collect()
});

/// The special-purpose range `ip` is refused for, if any. An IPv4-mapped IPv6 address is
/// judged by the IPv4 address it carries (`::ffff:169.254.169.254` is the metadata
/// service; `::ffff:93.184.216.34` is a public host).
pub fn special_purpose(ip: IpAddr) -> Option<&'static SpecialRange> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    RANGES
        .iter()
        .find(|(cidr, range)| range.treatment == Treatment::Refused && cidr.contains(ip))
        .map(|(_, range)| *range)
}

/// Whether `ip` is an address a webhook may reach only when the operator allows it.
pub fn is_private(ip: IpAddr) -> bool {
    special_purpose(ip).is_some()
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

    /// The first, a middle and the last address of a range.
    fn samples(cidr: &Cidr) -> [IpAddr; 3] {
        let middle = (number(cidr.last()) - number(cidr.first())) / 2;
        [cidr.first(), cidr.nth(middle), cidr.last()]
    }

    /// Public addresses, some just outside a refused range (a mask off by one bit shows).
    const PUBLIC: &[&str] = &[
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "1.0.0.0",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "100.128.0.1",
        "126.255.255.255",
        "128.0.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "169.255.0.1",
        "172.15.255.255",
        "172.32.0.0",
        "172.32.0.1",
        "191.255.255.255",
        "192.0.1.0",
        "192.0.3.0",
        "192.31.195.255",
        "192.31.197.0",
        "192.88.98.255",
        "192.88.100.0",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "198.51.99.255",
        "203.0.112.255",
        "203.0.114.0",
        "223.255.255.255",
        "2606:4700::1111",
        "2001:4860:4860::8888",
        "2001:200::1",
        "2003::1",
        "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff",
        "2620:4f:8001::",
        "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "3fff:1000::",
        "2a00:1450:4001::1",
        "::ffff:8.8.8.8",
        "::ffff:93.184.216.34",
    ];

    #[test]
    fn the_table_is_well_formed() {
        for range in SPECIAL_PURPOSE {
            assert!(
                Cidr::parse(range.cidr).is_some(),
                "{} ({}) is not a CIDR with a clean network address",
                range.cidr,
                range.name
            );
        }
        assert_eq!(RANGES.len(), SPECIAL_PURPOSE.len());
        assert_eq!(Cidr::parse("10.0.0.1/8"), None, "host bits set");
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("::/129"), None);
        assert_eq!(Cidr::parse("10.0.0.0"), None);
    }

    #[test]
    fn every_address_range_of_the_registries_is_refused() {
        let mut checked = 0;
        for (cidr, range) in RANGES.iter() {
            if range.treatment == Treatment::EmbeddedIpv4 {
                continue;
            }
            for address in samples(cidr) {
                assert!(
                    is_private(address),
                    "{address} of {} ({}) must be refused",
                    range.cidr,
                    range.name
                );
                assert!(cidr.contains(address));
                let url = match address {
                    IpAddr::V4(v4) => format!("https://{v4}/hook"),
                    IpAddr::V6(v6) => format!("https://[{v6}]/hook"),
                };
                assert_eq!(check(&url, STRICT), Err(PRIVATE_TARGET), "{url}");
                assert_eq!(check(&url, DEV), Ok(()), "{url} allowed in development");
                let at_delivery = Url::parse("https://hooks.example.com/chalk").unwrap();
                assert_eq!(
                    check_address(&at_delivery, address, STRICT),
                    Err(PRIVATE_TARGET),
                    "{address} at delivery"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 3 * (SPECIAL_PURPOSE.len() - 1));
    }

    #[test]
    fn an_ipv4_mapped_address_is_judged_by_the_ipv4_address_it_carries() {
        let mapped = SPECIAL_PURPOSE
            .iter()
            .find(|r| r.treatment == Treatment::EmbeddedIpv4)
            .and_then(|r| Cidr::parse(r.cidr))
            .unwrap();
        let v4_samples = RANGES
            .iter()
            .filter(|(cidr, _)| matches!(cidr.first(), IpAddr::V4(_)))
            .flat_map(|(cidr, _)| samples(cidr));
        for v4 in v4_samples {
            let IpAddr::V4(v4) = v4 else { unreachable!() };
            let as_v6 = IpAddr::V6(v4.to_ipv6_mapped());
            assert!(mapped.contains(as_v6));
            assert!(is_private(as_v6), "{as_v6} carries {v4}");
        }
        for public in PUBLIC.iter().map(|p| ip(p)) {
            if let IpAddr::V4(v4) = public {
                assert!(!is_private(IpAddr::V6(v4.to_ipv6_mapped())), "{v4}");
            }
        }
    }

    #[test]
    fn public_addresses_are_accepted() {
        for public in PUBLIC {
            assert_eq!(
                special_purpose(ip(public)).map(|r| r.cidr),
                None,
                "{public}"
            );
            let url = if public.contains(':') {
                format!("https://[{public}]/hook")
            } else {
                format!("https://{public}/hook")
            };
            assert_eq!(check(&url, STRICT), Ok(()), "{url}");
        }
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
            // The findings of the attack run (issue 25): translators and reserved blocks.
            "64:ff9b::808:808",
            "64:ff9b:1::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
            "198.18.0.1",
            "198.19.255.254",
            "192.0.0.1",
            "240.0.0.1",
            "::8.8.8.8",
        ] {
            assert!(is_private(ip(private)), "{private} is refused");
        }
    }

    #[test]
    fn a_refusal_names_its_range() {
        let range = special_purpose(ip("198.18.0.1")).unwrap();
        assert_eq!((range.cidr, range.name), ("198.18.0.0/15", "Benchmarking"));
        let range = special_purpose(ip("::ffff:192.168.0.1")).unwrap();
        assert_eq!(range.cidr, "192.168.0.0/16");
        // The most general entry comes first, as in the registry.
        let range = special_purpose(ip("2001::1")).unwrap();
        assert_eq!(range.cidr, "2001::/23");
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
            "https://[64:ff9b:1::1]/hook",
            "https://[2002::1]/hook",
            "https://198.18.0.1/hook",
            "https://240.1.2.3/hook",
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
            "http://198.18.0.1/hook",
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
        for refused in ["169.254.169.254", "198.18.0.7", "64:ff9b:1::1", "fec0::1"] {
            assert_eq!(
                check_address(&https, ip(refused), STRICT),
                Err(PRIVATE_TARGET),
                "{refused}"
            );
        }
        assert_eq!(check_address(&https, ip("10.0.0.1"), DEV), Ok(()));
        assert_eq!(check_address(&http, ip("10.0.0.1"), DEV), Ok(()));
        assert_eq!(
            check_address(&http, ip("93.184.216.34"), DEV),
            Err(HTTPS_REQUIRED)
        );
    }
}
