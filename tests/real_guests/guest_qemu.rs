//! The guest module against a real QEMU (TCG): launch with private sockets, QMP commands
//! (status, screendump, registers, savevm/loadvm), and no QEMU left after drop.

use crate::common;

use std::time::{Duration, Instant};

use vncpilot::guest::{Accel, Arch, BootMedia, DiskSpec, Firmware, Qemu, QemuConfig, Qmp};

fn config() -> QemuConfig {
    QemuConfig {
        binary: "qemu-system-x86_64".into(),
        arch: Arch::X86_64,
        firmware: Firmware::Bios,
        display: None,
        memory_mib: 64,
        cpus: 1,
        accel: Accel::Tcg,
        disks: vec![DiskSpec {
            size: "16M".into(),
            interface: "virtio".into(),
        }],
        // An empty disk: SeaBIOS runs and finds nothing to boot, which is all this test needs.
        boot: BootMedia::Disk,
        network: false,
        extra_args: vec![],
        media_provided_by: "nothing".into(),
        start_timeout: Duration::from_secs(20),
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qmp_commands_on_a_real_qemu_and_no_orphan() {
    let _lock = common::guest_lock();
    let dir = tempfile::tempdir().unwrap();
    let qemu = Qemu::launch(&config(), &dir.path().join("serial.log"))
        .await
        .expect("QEMU starts");
    let pid = qemu.pid().unwrap();
    let runtime_dir = qemu.paths().runtime_dir.clone();
    let qmp = Qmp::connect(&qemu.paths().qmp_socket, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(qmp.status().await.unwrap(), "running");
    let dump = dir.path().join("screen.ppm");
    qmp.screendump(&dump).await.unwrap();
    let image = image::open(&dump).expect("screendump is a PPM").to_rgb8();
    assert!(
        image.width() >= 320 && image.height() >= 200,
        "{:?}",
        image.dimensions()
    );
    let regs = qmp.info_registers().await.unwrap();
    assert!(regs.contains("EIP=") || regs.contains("RIP="), "{regs}");
    qmp.savevm("base")
        .await
        .expect("savevm into the qcow2 disk");
    qmp.loadvm("base").await.expect("loadvm");
    let err = qmp.loadvm("nonexistent").await.unwrap_err().to_string();
    assert!(err.contains("nonexistent"), "{err}");
    assert!(qmp.savevm("bad name; quit").await.is_err());
    assert!(alive(pid));
    drop(qmp);
    drop(qemu);
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "QEMU {pid} survived its Qemu handle"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!runtime_dir.exists(), "private runtime dir left behind");
}

#[tokio::test]
async fn missing_boot_media_name_the_package() {
    let mut c = config();
    c.boot = BootMedia::Kernel {
        kernel: "/nonexistent/linux".into(),
        initrd: None,
        cmdline: String::new(),
    };
    c.media_provided_by = "the Debian package debian-installer-12-netboot-amd64".into();
    let dir = tempfile::tempdir().unwrap();
    let err = Qemu::launch(&c, &dir.path().join("serial.log"))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("/nonexistent/linux") && err.contains("debian-installer-12-netboot-amd64"),
        "{err}"
    );
}
