//! `vncpilot send`: press key combos on a VNC server.

use std::time::Duration;

use anyhow::Context;

use super::vnc_args::VncArgs;

#[derive(clap::Args, Debug)]
pub struct SendArgs {
    #[command(flatten)]
    pub vnc: VncArgs,
    /// Milliseconds to wait after each combo.
    #[arg(long, default_value_t = 100)]
    pub delay_ms: u64,
    /// Key combos, e.g. ret, esc, tab, down, f12, ctrl-alt-delete, shift-tab, a.
    #[arg(required = true, value_name = "KEY")]
    pub keys: Vec<String>,
}

pub async fn run(args: SendArgs) -> anyhow::Result<()> {
    // Reject unknown names before connecting.
    for k in &args.keys {
        vncpilot::rfb::keys::parse_combo(k).map_err(vncpilot::rfb::RfbError::from)?;
    }
    let session = args.vnc.connect().await?;
    for k in &args.keys {
        session
            .key(k)
            .await
            .with_context(|| format!("sending key {k:?}"))?;
        tokio::time::sleep(Duration::from_millis(args.delay_ms)).await;
    }
    session.close().await;
    Ok(())
}
