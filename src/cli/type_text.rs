//! `vncpilot type`: type text on a VNC server.

use std::time::Duration;

use super::vnc_args::VncArgs;

#[derive(clap::Args, Debug)]
pub struct TypeArgs {
    #[command(flatten)]
    pub vnc: VncArgs,
    /// Milliseconds to wait after each character.
    #[arg(long, default_value_t = 20)]
    pub delay_ms: u64,
    /// Printable ASCII text; \n and \t in it press ret and tab.
    pub text: String,
}

pub async fn run(args: TypeArgs) -> anyhow::Result<()> {
    let text = args.text.replace("\\n", "\n").replace("\\t", "\t");
    vncpilot::rfb::keys::text_combos(&text).map_err(vncpilot::rfb::RfbError::from)?;
    let session = args.vnc.connect().await?;
    session
        .type_text(&text, Duration::from_millis(args.delay_ms))
        .await?;
    session.close().await;
    Ok(())
}
