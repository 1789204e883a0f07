//! `vncpilot import-needles DIR --set NAME`: converts a folder of openQA needles into
//! screens, masks and settings (`screens/NAME/`, `masks/NAME/`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use vncpilot::report::Status;

use super::exit;

#[derive(Args, Debug)]
pub struct ImportNeedlesArgs {
    /// Folder with needles (*.json with a .png beside each), searched recursively.
    dir: PathBuf,
    /// Name of the screen set to write (screens/NAME, masks/NAME).
    #[arg(long)]
    set: String,
    /// Project root holding screens/ and masks/.
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

pub fn run(args: ImportNeedlesArgs) -> ExitCode {
    match vncpilot::screen::import(&args.dir, &args.root, &args.set) {
        Ok(report) => {
            for (json, name) in &report.imported {
                println!("{} -> {}", json.display(), name);
            }
            println!(
                "imported {} needle(s) into {} and {}",
                report.imported.len(),
                args.root.join("screens").join(&args.set).display(),
                args.root.join("masks").join(&args.set).display()
            );
            exit(Status::Pass)
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit(Status::Error)
        }
    }
}
