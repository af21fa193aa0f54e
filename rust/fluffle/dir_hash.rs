//! Where a big directory's entries go: f2fs's multi-level hash of dentry
//! blocks. Level `L` has `2^min(L, MAX_BUCKET_BITS)` buckets of
//! [`BUCKET_BLOCKS`] blocks, laid out level after level in the
//! directory's block map; a name with hash `h` may live only in bucket
//! `h mod buckets(L)` of some level. Insert takes the first level whose
//! bucket has room, lookup reads that bucket at each level in use, so
//! both cost O(levels) = O(log entries) blocks at any size, and an entry
//! never moves (its block and slot are its readdir cookie). Blocks never
//! given an entry are holes in the block map.

/// Blocks per bucket.
pub const BUCKET_BLOCKS: u64 = 2;

/// Buckets per level stop doubling here (a million buckets per level).
pub const MAX_BUCKET_BITS: u32 = 20;

/// Levels a directory may have: with the doubling capped, level 39 ends
/// below 2^26 blocks, and 40 levels of full blocks hold far more than the
/// inode limit of entries.
pub const MAX_LEVELS: u32 = 40;

/// Buckets of level `level`.
pub fn buckets(level: u32) -> u64 {
    1u64 << level.min(MAX_BUCKET_BITS)
}

/// First block of level `level` (the blocks of all levels before it).
pub fn level_start(level: u32) -> u64 {
    let doubling = level.min(MAX_BUCKET_BITS + 1);
    let flat = level.saturating_sub(MAX_BUCKET_BITS + 1) as u64;
    ((1u64 << doubling) - 1 + flat * buckets(MAX_BUCKET_BITS)) * BUCKET_BLOCKS
}

/// The blocks of the bucket `hash` falls in at `level`.
pub fn bucket_blocks(level: u32, hash: u32) -> core::ops::Range<u64> {
    let b = hash as u64 & (buckets(level) - 1);
    let start = level_start(level) + b * BUCKET_BLOCKS;
    start..start + BUCKET_BLOCKS
}

/// The level block `blk` belongs to (`None` past the last level).
pub fn level_of(blk: u64) -> Option<u32> {
    (0..MAX_LEVELS).find(|&l| blk < level_start(l + 1))
}

/// Blocks of the first `levels` levels.
pub fn blocks_through(levels: u32) -> u64 {
    level_start(levels.min(MAX_LEVELS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_tile_the_block_map() {
        let mut next = 0u64;
        for l in 0..MAX_LEVELS {
            assert_eq!(level_start(l), next, "level {l}");
            next += buckets(l) * BUCKET_BLOCKS;
            assert_eq!(level_of(level_start(l)), Some(l));
            assert_eq!(level_of(next - 1), Some(l));
        }
        assert_eq!(level_of(next), None);
        assert!(next < 1 << 31, "the block map's bound for directories");
    }

    #[test]
    fn a_bucket_lies_in_its_level() {
        for l in [0, 1, 5, MAX_BUCKET_BITS, MAX_BUCKET_BITS + 3, MAX_LEVELS - 1] {
            for h in [0u32, 1, 0xdead_beef, u32::MAX] {
                let r = bucket_blocks(l, h);
                assert_eq!(level_of(r.start), Some(l));
                assert_eq!(level_of(r.end - 1), Some(l));
            }
        }
    }
}
