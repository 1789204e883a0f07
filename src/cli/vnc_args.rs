//! The `--vnc ADDR` connection options shared by every subcommand that talks to a VNC server.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use vncpilot::rfb::{Addr, ConnectOptions, RfbError, Secret, Session};

/// The environment variable a VNC password may come from (never a command-line argument,
/// where `ps` would show it).
pub const PASSWORD_ENV: &str = "VNCPILOT_PASSWORD";

#[derive(clap::Args, Debug, Clone)]
pub struct VncArgs {
    /// VNC server: host:display, host::port or unix:/path/to/socket.
    #[arg(long, value_name = "ADDR")]
    pub vnc: Addr,
    /// File whose first line is the VNC password (else $VNCPILOT_PASSWORD, else no password).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Seconds to wait for the connection and the first complete frame.
    #[arg(long, default_value_t = 15.0, value_name = "SECONDS")]
    pub connect_timeout: f64,
}

impl VncArgs {
    pub fn password(&self) -> anyhow::Result<Option<Secret>> {
        if let Some(path) = &self.password_file {
            let s = Secret::from_file(path)
                .with_context(|| format!("reading the VNC password file {}", path.display()))?;
            return Ok(Some(s));
        }
        Ok(std::env::var(PASSWORD_ENV).ok().map(Secret::new))
    }

    pub async fn connect(&self) -> anyhow::Result<Session> {
        let opts = ConnectOptions {
            password: self.password()?,
            connect_timeout: Duration::from_secs_f64(self.connect_timeout.max(0.0)),
            ..ConnectOptions::default()
        };
        Session::connect(&self.vnc, opts)
            .await
            .with_context(|| format!("connecting to VNC server {}", self.vnc))
    }
}

/// The exit code of a subcommand that failed with `err`: the VNC connection's own codes
/// (authentication 3, unreachable or silent server 4; docs/cli.md) when that is the cause, else
/// an error (2). Decided by [`vncpilot::run::connection_exit_code`].
pub fn exit_code(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<RfbError>() {
        Some(e) => vncpilot::run::connection_exit_code(e),
        None => vncpilot::run::exit_code(vncpilot::report::Status::Error),
    }
}
