//! The RFB opening: protocol version, security (None or VNC authentication), ClientInit and
//! ServerInit (RFC 6143 §7.1–7.3). Versions 3.3, 3.7 and 3.8 are spoken.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::RfbError;
use super::auth::{Secret, vnc_auth_response};
use super::wire::{WireReader, check_limit, limits};

const SEC_NONE: u8 = 1;
const SEC_VNC: u8 = 2;

/// What the server told us about its desktop.
#[derive(Debug, Clone)]
pub struct ServerInit {
    pub width: u32,
    pub height: u32,
    pub name: String,
    /// The protocol minor version spoken (3, 7 or 8).
    pub minor: u8,
}

pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    password: Option<&Secret>,
    stall: Duration,
) -> Result<ServerInit, RfbError> {
    let mut version = [0u8; 12];
    WireReader::new(&mut *s, stall).exact(&mut version).await?;
    let minor = parse_version(&version)?;
    s.write_all(format!("RFB 003.00{minor}\n").as_bytes())
        .await?;
    s.flush().await?;

    let security = if minor == 3 {
        let t = WireReader::new(&mut *s, stall).u32().await?;
        if t == 0 {
            let reason = WireReader::new(&mut *s, stall)
                .text("failure reason length")
                .await?;
            return Err(RfbError::Refused(reason));
        }
        let t = u8::try_from(t).unwrap_or(0);
        if t == SEC_VNC && password.is_none() {
            return Err(RfbError::PasswordRequired);
        }
        if t != SEC_NONE && t != SEC_VNC {
            return Err(RfbError::NoSupportedSecurity(vec![t]));
        }
        t
    } else {
        let mut r = WireReader::new(&mut *s, stall);
        let n = r.u8().await?;
        if n == 0 {
            let reason = r.text("failure reason length").await?;
            return Err(RfbError::Refused(reason));
        }
        let offered = r.vec(n.into()).await?;
        let choice = if password.is_some() && offered.contains(&SEC_VNC) {
            SEC_VNC
        } else if offered.contains(&SEC_NONE) {
            SEC_NONE
        } else if offered.contains(&SEC_VNC) {
            return Err(RfbError::PasswordRequired);
        } else {
            return Err(RfbError::NoSupportedSecurity(offered));
        };
        s.write_all(&[choice]).await?;
        s.flush().await?;
        choice
    };

    if security == SEC_VNC {
        let mut challenge = [0u8; 16];
        WireReader::new(&mut *s, stall)
            .exact(&mut challenge)
            .await?;
        let password = password.ok_or(RfbError::PasswordRequired)?;
        s.write_all(&vnc_auth_response(password, &challenge))
            .await?;
        s.flush().await?;
    }
    // SecurityResult: always in 3.8, only after VNC authentication before.
    if minor >= 8 || security == SEC_VNC {
        let mut r = WireReader::new(&mut *s, stall);
        let result = r.u32().await.map_err(|e| match e {
            RfbError::Closed(_) if security == SEC_VNC => {
                RfbError::AuthFailed("the server hung up after the password".into())
            }
            e => e,
        })?;
        if result != 0 {
            let reason = if minor >= 8 {
                r.text("failure reason length").await.unwrap_or_default()
            } else {
                String::new()
            };
            return Err(if security == SEC_VNC {
                RfbError::AuthFailed(if reason.is_empty() {
                    "rejected".into()
                } else {
                    reason
                })
            } else {
                RfbError::Refused(reason)
            });
        }
    }

    // ClientInit: shared, so a recorder or a person can watch alongside.
    s.write_all(&[1]).await?;
    s.flush().await?;
    let mut r = WireReader::new(&mut *s, stall);
    let width = u32::from(r.u16().await?);
    let height = u32::from(r.u16().await?);
    check_limit("framebuffer width", width.into(), limits::MAX_SIDE.into())?;
    check_limit("framebuffer height", height.into(), limits::MAX_SIDE.into())?;
    let mut _server_format = [0u8; 16];
    r.exact(&mut _server_format).await?;
    let name = r.text("desktop name length").await?;
    Ok(ServerInit {
        width,
        height,
        name,
        minor,
    })
}

/// "RFB 003.008\n" → 8. Unknown minors speak the highest version at most 3.8 (RFC 6143 §7.1.1);
/// 3.5 (old, buggy) is treated as 3.3.
fn parse_version(v: &[u8; 12]) -> Result<u8, RfbError> {
    let bad = || {
        RfbError::Protocol(format!(
            "not a VNC server (greeting {:?})",
            String::from_utf8_lossy(v)
        ))
    };
    if &v[..4] != b"RFB " || v[7] != b'.' || v[11] != b'\n' {
        return Err(bad());
    }
    let num = |b: &[u8]| {
        std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
    };
    let (major, minor) = (
        num(&v[4..7]).ok_or_else(bad)?,
        num(&v[8..11]).ok_or_else(bad)?,
    );
    if major != 3 {
        return Err(RfbError::Protocol(format!(
            "unsupported RFB major version {major}"
        )));
    }
    Ok(match minor {
        0..=6 => 3,
        7 => 7,
        _ => 8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version(b"RFB 003.008\n").unwrap(), 8);
        assert_eq!(parse_version(b"RFB 003.007\n").unwrap(), 7);
        assert_eq!(parse_version(b"RFB 003.003\n").unwrap(), 3);
        assert_eq!(parse_version(b"RFB 003.889\n").unwrap(), 8);
        assert!(parse_version(b"HTTP/1.1 200").is_err());
    }
}
