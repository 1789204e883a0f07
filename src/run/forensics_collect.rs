//! Gathering the evidence of a run that did not pass and handing it to
//! [`crate::report::forensics`]: final.png, the awaited screen (reference, actual, diff, best
//! match and when), the serial log's tail, and for a QEMU guest `info registers` and a
//! screendump. Best effort: a piece that cannot be had is skipped, with a warning.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::guest::Qmp;
use crate::report::forensics::{self, AwaitedScreen, Evidence, RegionReport};
use crate::report::{ResultsDir, ScreenWaits};
use crate::rfb::Frame;
use crate::screen::ScreenSet;

/// How long QEMU may take for each of `info registers` and the screendump.
const QMP_TIMEOUT: Duration = Duration::from_secs(10);

/// The QEMU side of the evidence.
pub(crate) struct QemuEvidence<'a> {
    pub qmp: &'a Qmp,
    /// Where the screendump goes (QEMU's private runtime folder).
    pub dump_path: PathBuf,
}

/// Writes the forensics of a run into `results` (see the module docs).
pub(crate) async fn write(
    results: &ResultsDir,
    screens: &ScreenSet,
    waits: &ScreenWaits,
    final_frame: Option<Arc<Frame>>,
    qemu: Option<QemuEvidence<'_>>,
) {
    let (registers, dump) = match qemu {
        Some(qemu) => ask_qemu(qemu).await,
        None => (None, None),
    };
    let unmatched = waits.unmatched();
    let reference = unmatched.as_ref().and_then(|wait| {
        let reference = screens.get(&wait.screen)?;
        forensics::reference_picture(reference)
            .inspect_err(|e| tracing::warn!("forensics: {e}"))
            .ok()
    });
    let dir = results.path().to_path_buf();
    let serial_log = results.file("serial.log");
    // Encoding a few PNGs: on a blocking thread, so the runtime's other tasks (this and other
    // runs' sessions, the recorders' feeds) keep running, and no runtime worker is turned into
    // a blocking thread (QEMU guests die with the thread that started them).
    let written = tokio::task::spawn_blocking(move || {
        let regions: Vec<RegionReport> = unmatched
            .as_ref()
            .map(|w| w.last.regions.iter().map(RegionReport::from).collect())
            .unwrap_or_default();
        let awaited = match (&unmatched, &reference) {
            (Some(wait), Some(reference)) => Some(AwaitedScreen {
                name: &wait.screen,
                reference,
                actual: &wait.last_frame.image,
                regions: &regions,
                similarity: wait.last.similarity,
                best: wait
                    .best()
                    .map(|(t, result, screen)| (result.similarity, t, screen)),
            }),
            _ => None,
        };
        let evidence = Evidence {
            final_screen: final_frame.as_ref().map(|f| f.image.as_ref()),
            awaited,
            serial_log: serial_log.is_file().then_some(serial_log.as_path()),
            qemu_registers: registers.as_deref(),
            qemu_screendump: dump.as_deref(),
        };
        forensics::write(&dir, &evidence)
    })
    .await;
    match written {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("forensics: {e}"),
        Err(e) => tracing::warn!("forensics: the writer thread failed: {e}"),
    }
}

/// `info registers` and a screendump, each bounded by [`QMP_TIMEOUT`].
async fn ask_qemu(qemu: QemuEvidence<'_>) -> (Option<String>, Option<PathBuf>) {
    let registers = match tokio::time::timeout(QMP_TIMEOUT, qemu.qmp.info_registers()).await {
        Ok(Ok(text)) => Some(text),
        Ok(Err(e)) => {
            tracing::warn!("forensics: info registers: {e}");
            None
        }
        Err(_) => {
            tracing::warn!("forensics: info registers took over 10 s");
            None
        }
    };
    let dump = match tokio::time::timeout(QMP_TIMEOUT, qemu.qmp.screendump(&qemu.dump_path)).await {
        Ok(Ok(())) => Some(qemu.dump_path),
        Ok(Err(e)) => {
            tracing::warn!("forensics: screendump: {e}");
            None
        }
        Err(_) => {
            tracing::warn!("forensics: screendump took over 10 s");
            None
        }
    };
    (registers, dump)
}
