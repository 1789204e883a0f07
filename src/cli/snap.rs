//! `vncpilot snap`: save one complete frame of a VNC server's screen.

use std::path::PathBuf;

use anyhow::{Context, bail};

use super::vnc_args::VncArgs;

#[derive(clap::Args, Debug)]
pub struct SnapArgs {
    #[command(flatten)]
    pub vnc: VncArgs,
    /// Output image: .png or .ppm.
    pub out: PathBuf,
}

pub async fn run(args: SnapArgs) -> anyhow::Result<()> {
    let format = match args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => image::ImageFormat::Png,
        Some("ppm") => image::ImageFormat::Pnm,
        _ => bail!(
            "output file {} must end in .png or .ppm",
            args.out.display()
        ),
    };
    let session = args.vnc.connect().await?;
    // The first frame a session publishes is complete by construction.
    let frame = session.latest();
    frame
        .image
        .save_with_format(&args.out, format)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{} {}x{} serial {}",
        args.out.display(),
        frame.width(),
        frame.height(),
        frame.serial
    );
    session.close().await;
    Ok(())
}
