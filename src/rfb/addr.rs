//! Where a VNC server listens, in the notations people already use.

use std::fmt;
use std::path::PathBuf;

use super::RfbError;

/// A VNC server address.
///
/// Accepts the VNC conventions: `host:display` (TCP port 5900 + display), `host::port`,
/// `:display` / `::port` (localhost), a bare `host` (display 0) and `unix:/path` (e.g. QEMU's
/// `-vnc unix:PATH`). IPv6 hosts go in brackets: `[::1]:1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

impl Addr {
    pub fn parse(s: &str) -> Result<Addr, RfbError> {
        let bad = |reason: &str| RfbError::BadAddr {
            input: s.to_string(),
            reason: reason.into(),
        };
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("empty socket path"));
            }
            return Ok(Addr::Unix(PathBuf::from(path)));
        }
        if s.is_empty() {
            return Err(bad("empty address"));
        }
        // Split off the host, honouring [v6] brackets.
        let (host, rest) = if let Some(inner) = s.strip_prefix('[') {
            let end = inner
                .find(']')
                .ok_or_else(|| bad("missing ']' after IPv6 host"))?;
            (&inner[..end], &inner[end + 1..])
        } else {
            match s.find(':') {
                Some(i) => (&s[..i], &s[i..]),
                None => (s, ""),
            }
        };
        let host = if host.is_empty() { "localhost" } else { host };
        let port = if rest.is_empty() {
            5900
        } else if let Some(port) = rest.strip_prefix("::") {
            port.parse::<u16>()
                .map_err(|_| bad("port after '::' must be a number 0-65535"))?
        } else if let Some(display) = rest.strip_prefix(':') {
            let d: u32 = display
                .parse()
                .map_err(|_| bad("display after ':' must be a number (use '::' for a port)"))?;
            u16::try_from(5900 + d).map_err(|_| bad("display number too large"))?
        } else {
            return Err(bad("unexpected text after the host"));
        };
        Ok(Addr::Tcp {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]::{port}"),
            Addr::Tcp { host, port } => write!(f, "{host}::{port}"),
            Addr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

impl std::str::FromStr for Addr {
    type Err = RfbError;
    fn from_str(s: &str) -> Result<Addr, RfbError> {
        Addr::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Addr {
        Addr::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_vnc_notations() {
        assert_eq!(Addr::parse("example:1").unwrap(), tcp("example", 5901));
        assert_eq!(Addr::parse("example::5999").unwrap(), tcp("example", 5999));
        assert_eq!(Addr::parse(":3").unwrap(), tcp("localhost", 5903));
        assert_eq!(Addr::parse("::5905").unwrap(), tcp("localhost", 5905));
        assert_eq!(Addr::parse("host").unwrap(), tcp("host", 5900));
        assert_eq!(Addr::parse("[::1]:2").unwrap(), tcp("::1", 5902));
        assert_eq!(
            Addr::parse("unix:/tmp/q.sock").unwrap(),
            Addr::Unix("/tmp/q.sock".into())
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "host:x", "host::70000", "unix:", "[::1", "host:99999"] {
            let err = Addr::parse(bad).unwrap_err().to_string();
            assert!(err.contains("invalid VNC address"), "{bad}: {err}");
        }
    }
}
