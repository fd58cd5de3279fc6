use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
    fn parse(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            other => Err(format!(
                "scheme {other:?} is not supported; use http or https"
            )),
        }
    }
}

/// The host part of an origin pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// Exactly this DNS name (lowercase).
    Name(String),
    /// Any proper subdomain of this name: `*.example.com`.
    Subdomains(String),
    /// Exactly this IP address.
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortPattern {
    Exact(u16),
    Any,
}

/// An origin a plugin may request and a user may grant:
/// `scheme://host[:port|:*]`, where host may be `*.example.com`.
/// Paths are not part of an origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OriginPattern {
    pub scheme: Scheme,
    pub host: HostPattern,
    pub port: PortPattern,
}

/// A concrete origin, taken from a request's URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub scheme: Scheme,
    /// Lowercase DNS name or IP literal (without brackets).
    pub host: String,
    pub port: u16,
}

fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed `[` in IPv6 address")?;
        return match after {
            "" => Ok((host, None)),
            p => Ok((
                host,
                Some(p.strip_prefix(':').ok_or("expected `:` after `]`")?),
            )),
        };
    }
    Ok(match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    })
}

fn valid_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl OriginPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("{text:?} is not an origin: expected scheme://host[:port]"))?;
        let scheme = Scheme::parse(scheme)?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "{text:?}: an origin has no path, query or user info"
            ));
        }
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            None => PortPattern::Exact(scheme.default_port()),
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(p.parse().map_err(|_| {
                format!("{text:?}: port {p:?} is not a number from 0 to 65535 or `*`")
            })?),
        };
        let host = host.to_ascii_lowercase();
        let host = if let Ok(ip) = host.parse::<IpAddr>() {
            HostPattern::Ip(ip)
        } else if let Some(parent) = host.strip_prefix("*.") {
            if !valid_dns_name(parent) || !parent.contains('.') {
                return Err(format!(
                    "{text:?}: `*.` must be followed by a domain with at least two labels"
                ));
            }
            HostPattern::Subdomains(parent.to_string())
        } else if host == "*" || host.contains('*') {
            return Err(format!(
                "{text:?}: a wildcard host must be of the form *.example.com; granting every host is not allowed"
            ));
        } else if valid_dns_name(&host) {
            HostPattern::Name(host)
        } else {
            return Err(format!("{text:?}: {host:?} is not a valid host name"));
        };
        Ok(Self { scheme, host, port })
    }

    pub fn matches(&self, origin: &Origin) -> bool {
        if self.scheme != origin.scheme {
            return false;
        }
        if let PortPattern::Exact(p) = self.port {
            if p != origin.port {
                return false;
            }
        }
        match &self.host {
            HostPattern::Name(name) => *name == origin.host,
            HostPattern::Subdomains(parent) => origin
                .host
                .strip_suffix(parent.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
            HostPattern::Ip(ip) => origin.host.parse::<IpAddr>().is_ok_and(|h| h == *ip),
        }
    }

    /// Whether this pattern names `addr` explicitly: an IP literal equal to
    /// it, or `localhost` for a loopback address. Only such grants may reach
    /// loopback, private, link-local or metadata addresses.
    pub fn names_address(&self, addr: IpAddr) -> bool {
        match &self.host {
            HostPattern::Ip(ip) => *ip == addr,
            HostPattern::Name(name) => name == "localhost" && addr.is_loopback(),
            HostPattern::Subdomains(_) => false,
        }
    }
}

impl Origin {
    /// The origin of an absolute `http(s)://` URL.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not an absolute URL"))?;
        let scheme = Scheme::parse(scheme)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        Self::from_parts(scheme, authority)
    }

    /// The origin of a scheme and an authority (`host[:port]`).
    pub fn from_parts(scheme: Scheme, authority: &str) -> Result<Self, String> {
        if authority.contains('@') {
            return Err(format!("{authority:?}: user info in URLs is not allowed"));
        }
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            None | Some("") => scheme.default_port(),
            Some(p) => p
                .parse()
                .map_err(|_| format!("port {p:?} is not a number"))?,
        };
        let host = host.to_ascii_lowercase();
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        Ok(Self { scheme, host, port })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{}://{}:{}", self.scheme.as_str(), host, self.port)
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Name(n) => f.write_str(n)?,
            HostPattern::Subdomains(n) => write!(f, "*.{n}")?,
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            HostPattern::Ip(ip) => write!(f, "{ip}")?,
        }
        match self.port {
            PortPattern::Any => f.write_str(":*"),
            PortPattern::Exact(p) if p == self.scheme.default_port() => Ok(()),
            PortPattern::Exact(p) => write!(f, ":{p}"),
        }
    }
}

impl TryFrom<String> for OriginPattern {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<OriginPattern> for String {
    fn from(value: OriginPattern) -> String {
        value.to_string()
    }
}

impl std::str::FromStr for OriginPattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(url: &str) -> Origin {
        Origin::from_url(url).unwrap()
    }

    #[test]
    fn an_exact_origin_matches_only_its_scheme_host_and_default_port() {
        let p = OriginPattern::parse("https://api.github.com").unwrap();
        assert!(p.matches(&origin("https://api.github.com/repos")));
        assert!(p.matches(&origin("https://API.github.com:443/")));
        assert!(!p.matches(&origin("http://api.github.com/")));
        assert!(!p.matches(&origin("https://api.github.com:8443/")));
        assert!(!p.matches(&origin("https://api.github.com.evil.com/")));
        assert!(!p.matches(&origin("https://evilapi.github.com/")));
    }

    #[test]
    fn a_port_wildcard_matches_any_port_on_that_host_only() {
        let p = OriginPattern::parse("http://127.0.0.1:*").unwrap();
        assert!(p.matches(&origin("http://127.0.0.1:8080/x")));
        assert!(p.matches(&origin("http://127.0.0.1/")));
        assert!(!p.matches(&origin("http://127.0.0.2:8080/")));
        assert!(!p.matches(&origin("https://127.0.0.1:8080/")));
    }

    #[test]
    fn a_subdomain_wildcard_does_not_match_the_parent_or_lookalikes() {
        let p = OriginPattern::parse("https://*.example.com").unwrap();
        assert!(p.matches(&origin("https://a.example.com/")));
        assert!(p.matches(&origin("https://a.b.example.com/")));
        assert!(!p.matches(&origin("https://example.com/")));
        assert!(!p.matches(&origin("https://badexample.com/")));
    }

    #[test]
    fn everything_wildcards_paths_and_user_info_are_refused() {
        for bad in [
            "https://*",
            "https://*.com",
            "http://a*.com",
            "https://x.com/path",
            "https://u@x.com",
            "ftp://x.com",
            "x.com",
        ] {
            assert!(
                OriginPattern::parse(bad).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn ipv6_literals_parse_and_print() {
        let p = OriginPattern::parse("http://[::1]:8080").unwrap();
        assert!(p.matches(&origin("http://[::1]:8080/")));
        assert_eq!(p.to_string(), "http://[::1]:8080");
    }

    #[test]
    fn only_ip_literals_and_localhost_name_special_addresses() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            OriginPattern::parse("http://127.0.0.1:*")
                .unwrap()
                .names_address(lo)
        );
        assert!(
            OriginPattern::parse("http://localhost:*")
                .unwrap()
                .names_address(lo)
        );
        assert!(
            !OriginPattern::parse("http://rebind.example:*")
                .unwrap()
                .names_address(lo)
        );
        assert!(
            !OriginPattern::parse("http://127.0.0.2:*")
                .unwrap()
                .names_address(lo)
        );
    }
}
