//! The address policy of SPEC §7 and the DNS resolver that enforces it, so that the address that
//! was checked is the address reqwest connects to (no check-then-resolve-again race).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Which destination addresses outbound calls may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Private and loopback ranges are reachable (self-hosted default); a public multi-tenant
    /// instance sets this to false.
    pub allow_private: bool,
}

impl Default for EgressPolicy {
    fn default() -> Self {
        Self {
            allow_private: true,
        }
    }
}

/// AWS's IPv6 instance metadata endpoint; it sits inside fc00::/7, so it needs its own rule.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);
/// Alibaba Cloud's metadata endpoint lives in the carrier-grade NAT range, not link-local.
const ALIBABA_METADATA_V4: Ipv4Addr = Ipv4Addr::new(100, 100, 100, 200);

impl EgressPolicy {
    /// Checks one destination address; the error is a human reason for the refusal.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), &'static str> {
        match ip {
            IpAddr::V4(v4) => self.check_v4(v4),
            IpAddr::V6(v6) => self.check_v6(v6),
        }
    }

    fn check_v4(&self, ip: Ipv4Addr) -> Result<(), &'static str> {
        let [a, b, ..] = ip.octets();
        if ip.is_link_local() || ip == ALIBABA_METADATA_V4 {
            return Err("link-local and cloud metadata addresses are never reachable");
        }
        if a == 0 {
            return Err("unspecified addresses (0.0.0.0/8) are never reachable");
        }
        if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
            return Err("broadcast, multicast and reserved addresses are never reachable");
        }
        let carrier_nat = a == 100 && (64..128).contains(&b);
        if ip.is_loopback() || ip.is_private() || carrier_nat {
            return self.private_allowed();
        }
        Ok(())
    }

    fn check_v6(&self, ip: Ipv6Addr) -> Result<(), &'static str> {
        // Mapped and NAT64 addresses reach an IPv4 host, so the IPv4 rules decide.
        if let Some(v4) = ip.to_ipv4_mapped() {
            return self.check_v4(v4);
        }
        let seg = ip.segments();
        if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
            let [a, b, c, d] = [seg[6] >> 8, seg[6] & 0xff, seg[7] >> 8, seg[7] & 0xff];
            // Each value is masked to 8 bits above, so the casts cannot truncate.
            return self.check_v4(Ipv4Addr::new(a as u8, b as u8, c as u8, d as u8));
        }
        if ip == AWS_METADATA_V6 || (seg[0] & 0xffc0) == 0xfe80 {
            return Err("link-local and cloud metadata addresses are never reachable");
        }
        if ip.is_unspecified() {
            return Err("the unspecified address (::) is never reachable");
        }
        if ip.is_multicast() {
            return Err("multicast addresses are never reachable");
        }
        if ip.is_loopback() || (seg[0] & 0xfe00) == 0xfc00 {
            return self.private_allowed();
        }
        Ok(())
    }

    fn private_allowed(&self) -> Result<(), &'static str> {
        if self.allow_private {
            Ok(())
        } else {
            Err("private and loopback addresses are not allowed on this instance")
        }
    }
}

/// Raised from inside the resolver; the client finds it again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {ip}: {reason}")]
pub(crate) struct PolicyRefusal {
    pub host: String,
    pub ip: IpAddr,
    pub reason: &'static str,
}

/// A resolver that refuses the whole name when any of its addresses is refused: connecting to
/// "the allowed one" would let DNS answers choose which check applies.
#[derive(Debug, Clone)]
pub(crate) struct PolicyResolver {
    pub policy: EgressPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no addresses").into());
            }
            for addr in &addrs {
                if let Err(reason) = policy.check_ip(addr.ip()) {
                    return Err(Box::new(PolicyRefusal {
                        host,
                        ip: addr.ip(),
                        reason,
                    }) as _);
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn always_refused_whatever_the_setting() {
        for allow_private in [true, false] {
            let policy = EgressPolicy { allow_private };
            for addr in [
                "169.254.169.254",
                "169.254.0.1",
                "fe80::1",
                "fd00:ec2::254",
                "0.0.0.0",
                "::",
                "::ffff:169.254.169.254",
                "64:ff9b::a9fe:a9fe",
                "100.100.100.200",
                "255.255.255.255",
                "224.0.0.1",
            ] {
                assert!(policy.check_ip(ip(addr)).is_err(), "{addr} must be refused");
            }
        }
    }

    #[test]
    fn private_and_loopback_follow_the_setting() {
        let open = EgressPolicy::default();
        let closed = EgressPolicy {
            allow_private: false,
        };
        for addr in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "::1",
            "fc00::1",
            "fd12::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(open.check_ip(ip(addr)).is_ok(), "{addr} allowed by default");
            assert!(
                closed.check_ip(ip(addr)).is_err(),
                "{addr} refused when closed"
            );
        }
    }

    #[test]
    fn public_addresses_pass() {
        let closed = EgressPolicy {
            allow_private: false,
        };
        for addr in ["1.1.1.1", "172.32.0.1", "2606:4700::1111", "8.8.8.8"] {
            assert!(closed.check_ip(ip(addr)).is_ok(), "{addr} is public");
        }
    }

    #[tokio::test]
    async fn resolver_refuses_localhost_when_private_is_closed() {
        let resolver = PolicyResolver {
            policy: EgressPolicy {
                allow_private: false,
            },
        };
        let name: Name = match "localhost".parse() {
            Ok(n) => n,
            Err(_) => panic!("valid name"),
        };
        let err = match resolver.resolve(name).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e,
        };
        assert!(err.downcast_ref::<PolicyRefusal>().is_some(), "{err}");
    }
}
