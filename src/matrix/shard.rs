//! `--shard I/N`: a deterministic 1/N of the cells, so N hosts (a Kubernetes Indexed Job, a CI
//! matrix) split a night with no scheduler of our own.
//!
//! A cell belongs to shard `fnv1a64(name) mod N` (`I` counts from 0, like
//! `$JOB_COMPLETION_INDEX`). The hash depends on the cell's name only, so a cell stays in its
//! shard when other cells are added or removed, on every host and every night; every cell is
//! in exactly one shard. The price is that shards are only statistically even.

/// One shard of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?}: expected I/N with 0 <= I < N (e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The shard (0..count) a cell of this name belongs to.
    pub fn of(name: &str, count: u32) -> u32 {
        (fnv1a64(name.as_bytes()) % u64::from(count)) as u32
    }

    pub fn contains(&self, name: &str) -> bool {
        Shard::of(name, self.count) == self.index
    }
}

/// FNV-1a, 64 bits: fixed by its definition, unlike std's randomly seeded hashers.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_is_in_exactly_one_shard_and_stays_there() {
        let names: Vec<String> = (0..200).map(|i| format!("h{}/v{i}", i % 7)).collect();
        for n in 1..=9 {
            for name in &names {
                let owners: Vec<u32> = (0..n)
                    .filter(|&i| Shard { index: i, count: n }.contains(name))
                    .collect();
                assert_eq!(owners.len(), 1, "{name} in {owners:?} of {n}");
            }
        }
        // Fixed values: the assignment must not change between builds or hosts.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        // Not all in one shard.
        let in_first = names
            .iter()
            .filter(|n| Shard { index: 0, count: 4 }.contains(n))
            .count();
        assert!((20..80).contains(&in_first), "{in_first}");
    }

    #[test]
    fn parsing() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().unwrap_err().contains("I/N"));
    }
}
