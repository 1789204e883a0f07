//! Getting to the guest's screen: attach to a VNC server somebody else runs, or launch the
//! harness's QEMU guest (on its own private sockets and disks) and watch it over VNC or QMP.

use std::sync::Arc;
use std::time::Duration;

use super::options::Watch;
use super::{RunError, RunOptions};
use crate::display::{Display, QmpDisplay, VncDisplay};
use crate::guest::{Qemu, QemuConfig, Qmp, SerialLog};
use crate::report::{ResultsDir, RunObserver};
use crate::rfb::{Addr, ConnectOptions, Session};

/// How long QEMU's monitor may take to answer its greeting.
const QMP_CONNECT_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the QMP display takes a screendump.
const QMP_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The guest, reachable.
pub(crate) struct Guest {
    pub display: Arc<dyn Display>,
    /// QEMU's monitor (a launched guest only).
    pub qmp: Option<Arc<Qmp>>,
    /// The serial port (a launched guest only).
    pub serial: Option<Arc<SerialLog>>,
}

/// Reaches the guest of `options`. A QEMU it launches is put into `qemu` at once, so that the
/// caller tears it down even when a later step fails or the run is cancelled meanwhile.
pub(crate) async fn reach(
    options: &RunOptions,
    results: &ResultsDir,
    observer: &dyn RunObserver,
    qemu: &mut Option<Qemu>,
) -> Result<Guest, RunError> {
    let harness = &options.harness;
    let timeouts = options.timeouts();
    match &options.attach {
        Some(addr) => {
            let password = options.password.read()?;
            if let Some(secret) = &password {
                observer.secret(secret.expose());
            }
            let opts = ConnectOptions {
                password,
                connect_timeout: timeouts.start,
                ..Default::default()
            };
            let session = connect(addr, opts).await?;
            Ok(Guest {
                display: Arc::new(VncDisplay::new(session)),
                qmp: None,
                serial: None,
            })
        }
        None => {
            let config = harness.guest.as_ref().ok_or_else(|| RunError::NoGuest {
                harness: harness.dir.clone(),
            })?;
            let config = QemuConfig {
                start_timeout: config.start_timeout.mul_f64(timeouts.time_scale),
                ..config.clone()
            };
            let launched = qemu.insert(Qemu::launch(&config, &results.file("serial.log")).await?);
            let paths = launched.paths().clone();
            let qmp = Arc::new(Qmp::connect(&paths.qmp_socket, QMP_CONNECT_TIMEOUT).await?);
            let serial = Some(Arc::new(SerialLog::new(&paths.serial_log)));
            let display: Arc<dyn Display> = match options.watch {
                Watch::Vnc => {
                    let opts = ConnectOptions {
                        connect_timeout: timeouts.start,
                        ..Default::default()
                    };
                    let session = connect(&Addr::Unix(paths.vnc_socket.clone()), opts).await?;
                    Arc::new(VncDisplay::new(session))
                }
                Watch::Qmp => {
                    let dump = paths.runtime_dir.join("screen.ppm");
                    let display = QmpDisplay::start(qmp.clone(), dump, QMP_POLL_INTERVAL)
                        .await
                        .map_err(RunError::QmpDisplay)?;
                    Arc::new(display)
                }
            };
            Ok(Guest {
                display,
                qmp: Some(qmp),
                serial,
            })
        }
    }
}

async fn connect(addr: &Addr, opts: ConnectOptions) -> Result<Session, RunError> {
    Session::connect(addr, opts)
        .await
        .map_err(|source| RunError::Connect {
            addr: addr.to_string(),
            source: Box::new(source),
        })
}
