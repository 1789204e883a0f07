//! Passwords and VNC authentication (RFC 6143 §7.2.2).

use std::fmt;
use std::path::Path;

use des::Des;
use des::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};

/// A secret (a VNC password, or text typed with `type_secret`).
///
/// Its `Debug` and `Display` print `***`, so it cannot reach a log or a result by accident;
/// [`Secret::expose`] is the one, greppable, way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// Reads a password file: its first line, without the line ending.
    pub fn from_file(path: &Path) -> std::io::Result<Secret> {
        let text = std::fs::read_to_string(path)?;
        Ok(Secret(text.lines().next().unwrap_or("").to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The response to a VNC authentication challenge: the challenge DES-encrypted with the
/// password as key. VNC uses the first 8 bytes of the password (zero padded) with the bits of
/// every byte mirrored — a historical quirk of the original implementation.
pub fn vnc_auth_response(password: &Secret, challenge: &[u8; 16]) -> [u8; 16] {
    let mut key = [0u8; 8];
    for (k, b) in key.iter_mut().zip(password.expose().bytes()) {
        *k = b.reverse_bits();
    }
    let cipher = Des::new_from_slice(&key).expect("DES takes an 8-byte key");
    let mut out = *challenge;
    for chunk in out.chunks_exact_mut(8) {
        cipher.encrypt_block(GenericArray::from_mut_slice(chunk));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn vnc_auth_matches_known_answer() {
        // The real check is tests/servers/rfb_xvnc.rs against TigerVNC; here only the ECB structure.
        let r = vnc_auth_response(&Secret::new("password"), &[0u8; 16]);
        assert_eq!(r[..8], r[8..], "ECB: equal blocks encrypt equally");
        assert_ne!(r, [0u8; 16]);
    }
}
