//! The default for `--jobs`: how many cells run at once.
//!
//! `jobs = max(1, min(cores, (MemAvailable − 1 GiB) / (largest guest memory + 512 MiB), cells))`
//!
//! One core per cell because a TCG guest keeps one host core busy; the memory term leaves 1 GiB
//! to the host and counts 512 MiB per cell beyond its guest's RAM for QEMU itself, the recorder
//! and the matcher. On the 2-core, 24 GiB development machine that is 2.

/// The default for `cells` cells whose largest guest has `guest_mib` of RAM.
pub fn default_jobs(cells: usize, guest_mib: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    formula(cores, mem_available_mib(), cells, guest_mib)
}

/// The formula itself, for given host numbers (`mem_mib` None: memory does not limit).
pub fn formula(cores: usize, mem_mib: Option<u64>, cells: usize, guest_mib: u32) -> usize {
    let by_memory = mem_mib.map_or(usize::MAX, |m| {
        (m.saturating_sub(1024) / (u64::from(guest_mib) + 512)) as usize
    });
    cores.min(by_memory).min(cells).max(1)
}

/// `MemAvailable` from /proc/meminfo, in MiB.
fn mem_available_mib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_memory_and_cells_bound_the_jobs() {
        assert_eq!(formula(2, Some(23_000), 7, 1024), 2);
        assert_eq!(formula(16, Some(4096), 20, 1024), 2);
        assert_eq!(formula(16, Some(512), 20, 1024), 1);
        assert_eq!(formula(8, None, 3, 1024), 3);
        assert_eq!(formula(8, None, 0, 1024), 1);
    }
}
