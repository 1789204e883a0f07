//! `vncpilot author`: serve the authoring page (src/author/) for a VNC screen until Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use vncpilot::author::{Author, AuthorOptions};
use vncpilot::display::VncDisplay;
use vncpilot::script::harness::Harness;

use super::vnc_args::VncArgs;

#[derive(clap::Args, Debug)]
pub struct AuthorArgs {
    /// A harness folder (or its harness.toml): references go to its screens folder and set.
    pub harness: Option<PathBuf>,
    #[command(flatten)]
    pub vnc: VncArgs,
    /// The screens folder (default: the harness's, else ./screens).
    #[arg(long, value_name = "DIR")]
    pub screens: Option<PathBuf>,
    /// The screen set to save into and check (default: the harness's). Without one the page
    /// only shows and drives the screen.
    #[arg(long, value_name = "NAME")]
    pub set: Option<String>,
    /// Address to serve the page on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
}

pub async fn run(args: AuthorArgs) -> anyhow::Result<()> {
    let harness = match &args.harness {
        Some(path) => Some(
            Harness::load(path, &[])
                .with_context(|| format!("loading harness {}", path.display()))?,
        ),
        None => None,
    };
    let screens = args
        .screens
        .clone()
        .or_else(|| harness.as_ref().map(|h| h.screens_root.clone()))
        .unwrap_or_else(|| PathBuf::from("screens"));
    let set = args
        .set
        .clone()
        .or_else(|| harness.as_ref().map(|h| h.screen_set.clone()));
    let session = args.vnc.connect().await?;
    let display = Arc::new(VncDisplay::new(session.clone()));
    let author = Author::start(display, AuthorOptions::new(args.listen, screens, set))
        .await
        .context("starting the authoring page")?;
    println!("{}", author.url());
    std::io::stdout().flush()?;
    let ended = tokio::select! {
        r = tokio::signal::ctrl_c() => { r.context("waiting for Ctrl-C")?; None }
        why = author.ended() => Some(why),
    };
    author.shutdown().await;
    let session_error = session.ended();
    session.close().await;
    match ended {
        None => Ok(()),
        Some(why) => match session_error {
            Some(e) => Err(anyhow::Error::new(e).context("the VNC session ended")),
            None => anyhow::bail!("the live screen ended: {why}"),
        },
    }
}
