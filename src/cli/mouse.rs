//! `vncpilot mouse`: move the guest's pointer to a pixel or click there, by hand — the same
//! locate-and-converge loop a script's `mouse_move`/`click` use, with its report printed.

use std::path::PathBuf;
use std::time::Duration;

use vncpilot::display::VncPointer;
use vncpilot::pointer::device::buttons;
use vncpilot::pointer::{CursorSprite, Locator, Mode, MoveOptions, Pointer, PointerError};

use super::vnc_args::VncArgs;

#[derive(clap::Args, Debug)]
pub struct MouseArgs {
    #[command(flatten)]
    pub vnc: VncArgs,
    /// Folder of cursor pictures to look for (`<name>.png` + optional `<name>.toml` with
    /// `hotspot = [x, y]`); without a match the cursor is detected by moving it.
    #[arg(long, default_value = "screens/cursors", value_name = "DIR")]
    pub cursors: PathBuf,
    /// Treat the pointer as relative or absolute instead of asking the server.
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Done when the hotspot is this close to the target on both axes (pixels).
    #[arg(long, default_value_t = 0)]
    pub tolerance: u32,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Where to save the screen when the move fails.
    #[arg(long, default_value = "mouse-failure.png", value_name = "FILE")]
    pub failure_screenshot: PathBuf,
    #[command(subcommand)]
    pub action: MouseAction,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ModeArg {
    Relative,
    Absolute,
}

#[derive(clap::Subcommand, Debug)]
pub enum MouseAction {
    /// Move the pointer's hotspot to (X, Y).
    Move { x: u32, y: u32 },
    /// Move to (X, Y) and click.
    Click {
        x: u32,
        y: u32,
        /// Which button.
        #[arg(long, value_enum, default_value = "left")]
        button: ButtonArg,
        /// Click twice.
        #[arg(long)]
        double: bool,
    },
    /// Move the pointer into the bottom-right corner, out of the way.
    Hide,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ButtonArg {
    Left,
    Middle,
    Right,
}

pub async fn run(args: MouseArgs) -> anyhow::Result<()> {
    let sprites = CursorSprite::load_dir(&args.cursors)?;
    let session = args.vnc.connect().await?;
    let mut device = VncPointer::new(session.clone());
    if let Some(mode) = args.mode {
        device = device.with_mode(match mode {
            ModeArg::Relative => Mode::Relative,
            ModeArg::Absolute => Mode::Absolute,
        });
    }
    let mut pointer = Pointer::new(device, Locator::new(sprites));
    let opts = MoveOptions {
        tolerance: args.tolerance,
        timeout: Duration::from_secs_f64(args.timeout.max(0.0)),
        ..MoveOptions::default()
    };
    let result = match args.action {
        MouseAction::Move { x, y } => pointer.move_to(x, y, &opts).await.map(Some),
        MouseAction::Click {
            x,
            y,
            button,
            double,
        } => {
            let bit = match button {
                ButtonArg::Left => buttons::LEFT,
                ButtonArg::Middle => buttons::MIDDLE,
                ButtonArg::Right => buttons::RIGHT,
            };
            pointer
                .click(x, y, bit, if double { 2 } else { 1 }, &opts)
                .await
                .map(Some)
        }
        MouseAction::Hide => pointer.hide().await.map(|_| None),
    };
    let report = match result {
        Ok(report) => report,
        Err(e) => return Err(failure(e, &args.failure_screenshot)),
    };
    if let Some(report) = report {
        println!("{}", serde_json::to_string(&report)?);
    }
    // Let the last event reach the guest before the connection closes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    session.close().await;
    Ok(())
}

/// The error, with the screen saved where the user asked.
fn failure(e: PointerError, path: &std::path::Path) -> anyhow::Error {
    let saved = e.screenshot().map(|img| img.save(path));
    let e = anyhow::Error::new(e);
    match saved {
        Some(Ok(())) => e.context(format!(
            "moving the pointer (the screen is saved in {})",
            path.display()
        )),
        Some(Err(save)) => e.context(format!(
            "moving the pointer (saving the screen to {} failed: {save})",
            path.display()
        )),
        None => e.context("moving the pointer"),
    }
}
