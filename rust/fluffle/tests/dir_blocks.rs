//! Directories whose entries live in hashed dentry blocks (`dir_blocks.rs`,
//! `dir_hash.rs`): one changed entry costs a block, not the directory; a
//! lookup in a directory not in memory reads O(levels) blocks, not all of
//! them; entries, their readdir cookies and renames (also to longer names)
//! survive remounts; a listing across inserts and deletes returns every
//! untouched entry once; fsck reads the blocks back.

mod common;

use std::collections::BTreeMap;

use common::*;
use fluffle::fs::FileType;

/// Name -> (inode, cookie) as readdir lists them.
fn listing(fs: &mut CoreFs, dir: u64) -> BTreeMap<Vec<u8>, u64> {
    list_dir(fs, dir, 1_000_000).unwrap().into_iter().map(|(name, ino, _)| (name, ino)).collect()
}

fn cookies(fs: &mut CoreFs, dir: u64) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    fs.readdir(dir, 2, &mut |name: &[u8], _, _, cookie| {
        out.push((cookie, name.to_vec()));
        true
    })
    .unwrap();
    out
}

#[test]
fn one_entry_costs_one_block_at_any_size() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    for i in 0..5000 {
        fs.create(d, format!("file-{i:06}").as_bytes(), 0o644, 0, 0).unwrap();
    }
    fs.sync().unwrap();
    let before = fs.device().stats().blocks_written;
    let f = fs.create(d, b"new", 0o644, 0, 0).unwrap().ino;
    fs.write(f, 0, &[1u8; 4096]).unwrap();
    fs.fsync(f, false).unwrap();
    let written = fs.device().stats().blocks_written - before;
    // Data, the new inode's pack, the directory's changed dentry block
    // and its small node, the checkpoint: a handful of blocks, not the
    // ~30 blocks of 5000 entries.
    assert!(written <= 8, "{written} blocks for one create + write + fsync in a directory of 5000");
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    let l = listing(&mut fs, d);
    assert_eq!(l.len(), 5001);
    assert_eq!(l[&b"new".to_vec()], f);
    fsck(&mut fs).unwrap();
}

#[test]
fn entries_cookies_and_renames_survive_remounts() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    let mut want: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for i in 0..1500u32 {
        let name = format!("e{i}").into_bytes();
        let a = if i % 10 == 0 { fs.mkdir(d, &name, 0o755, 0, 0) } else { fs.create(d, &name, 0o644, 0, 0) };
        want.insert(name, a.unwrap().ino);
    }
    fs.sync().unwrap();
    for round in 0..3u32 {
        let before = cookies(&mut fs, d);
        // Delete some, add some, rename some to long names (their block
        // may have no room for them).
        let names: Vec<Vec<u8>> = want.keys().cloned().collect();
        for (k, name) in names.iter().enumerate() {
            if k % 9 == round as usize {
                let ino = want.remove(name).unwrap();
                let t = fs.lookup(d, name).unwrap();
                if t.ftype == FileType::Directory {
                    fs.rmdir(d, name).unwrap();
                } else {
                    fs.unlink(d, name).unwrap();
                }
                let _ = ino;
            } else if k % 13 == round as usize && name.len() < 50 {
                let long = format!("{}-{}", String::from_utf8_lossy(name), "x".repeat(200)).into_bytes();
                fs.rename(d, name, d, &long, 0).unwrap();
                let ino = want.remove(name).unwrap();
                want.insert(long, ino);
            }
        }
        for i in 0..200u32 {
            let name = format!("r{round}-{i}").into_bytes();
            want.insert(name.clone(), fs.create(d, &name, 0o600, 0, 0).unwrap().ino);
        }
        let during = cookies(&mut fs, d);
        let dev = fs.unmount().unwrap();
        fs = mount(dev).unwrap();
        assert_eq!(listing(&mut fs, d), want, "round {round}");
        // Cookies are stable: the same after the remount, and every entry
        // that was there before the round and not renamed kept its cookie
        // (a renamed one goes where its new name hashes).
        let after = cookies(&mut fs, d);
        assert_eq!(after, during, "round {round}: cookies changed across the remount");
        let kept: BTreeMap<u64, Vec<u8>> = after.into_iter().collect();
        for (c, name) in before {
            if want.contains_key(&name) {
                assert_eq!(kept.get(&c), Some(&name), "cookie {c} of {name:?} moved");
            }
        }
        fsck(&mut fs).unwrap();
    }
}

/// Renames over an existing name and exchanges in a big directory change
/// entries in place (same cookie, other inode): their blocks are rewritten.
#[test]
fn in_place_retargets_reach_the_blocks() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    let mut want: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for i in 0..600u32 {
        let name = format!("n{i}").into_bytes();
        want.insert(name.clone(), fs.create(d, &name, 0o644, 0, 0).unwrap().ino);
    }
    fs.sync().unwrap();
    for i in (0..600u32).step_by(50) {
        // n{i+1} replaced by n{i}: n{i+1} now names n{i}'s inode.
        let (a, b) = (format!("n{i}").into_bytes(), format!("n{}", i + 1).into_bytes());
        fs.rename(d, &a, d, &b, 0).unwrap();
        let ino = want.remove(&a).unwrap();
        want.insert(b, ino);
    }
    // Exchanges alone (no other change in their blocks) after a sync.
    fs.sync().unwrap();
    for i in (0..600u32).step_by(50) {
        // n{i+2} and n{i+3} swap inodes.
        let (c, e) = (format!("n{}", i + 2).into_bytes(), format!("n{}", i + 3).into_bytes());
        fs.rename(d, &c, d, &e, fluffle::types::RENAME_EXCHANGE).unwrap();
        let (x, y) = (want[&c], want[&e]);
        want.insert(c, y);
        want.insert(e, x);
    }
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    assert_eq!(listing(&mut fs, d), want);
    fsck(&mut fs).unwrap();
}

/// Blocks a lookup may read in a directory of `entries` names: two per
/// hash level (`dir_hash.rs`), with levels up to twice the doubling a full
/// directory would need (buckets fill unevenly).
fn lookup_bound(entries: u64) -> u64 {
    let blocks = entries / 100 + 1;
    2 * (2 * (64 - blocks.leading_zeros() as u64) + 2)
}

#[test]
fn a_cold_big_directory_answers_a_lookup_from_a_few_blocks() {
    let n = 20_000u64;
    let mut fs = mount(formatted(24, 2048, 2048)).unwrap();
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    for i in 0..n {
        fs.create(d, format!("some-file-{i:07}").as_bytes(), 0o644, 0, 0).unwrap();
    }
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    let blocks = fs.dentry_block_count(d).unwrap();
    assert!(blocks > 100, "the entries are in {blocks} blocks");
    let bound = lookup_bound(n);
    let reads = |fs: &CoreFs| fs.stats.dent_reads;
    let r0 = reads(&fs);
    let hit = fs.lookup(d, b"some-file-0012345").unwrap();
    let r1 = reads(&fs);
    assert!(r1 - r0 <= bound, "a hit read {} dentry blocks of {blocks} (bound {bound})", r1 - r0);
    assert_eq!(fs.lookup(d, b"no-such-name").err(), Some(fluffle::errno::ENOENT));
    let r2 = reads(&fs);
    assert!(r2 - r1 <= bound, "a miss read {} dentry blocks of {blocks}", r2 - r1);
    // An insert and a delete read no more than their lookups did.
    fs.create(d, b"one-more", 0o644, 0, 0).unwrap();
    fs.unlink(d, b"some-file-0000007").unwrap();
    let r3 = reads(&fs);
    assert!(r3 - r2 <= 2 * bound, "create + unlink read {} dentry blocks", r3 - r2);
    assert!(r3 < blocks / 2, "{r3} of {blocks} blocks read in all");
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    assert_eq!(fs.lookup(d, b"some-file-0012345").unwrap().ino, hit.ino);
    assert!(fs.lookup(d, b"some-file-0000007").is_err());
    assert_eq!(listing(&mut fs, d).len() as u64, n);
    fsck(&mut fs).unwrap();
}

/// A listing resumed across inserts, deletes and a checkpoint in a big
/// directory returns every entry that stayed exactly once, and nothing
/// that never existed.
#[test]
fn a_listing_across_changes_returns_each_untouched_entry_once() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    for i in 0..3000u32 {
        fs.create(d, format!("a{i}").as_bytes(), 0o644, 0, 0).unwrap();
    }
    let mut seen: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    let mut cookie = 2u64;
    let mut round = 0u32;
    loop {
        let mut got = 0;
        fs.readdir(d, cookie, &mut |name: &[u8], _, _, c| {
            if got == 100 {
                return false;
            }
            got += 1;
            *seen.entry(name.to_vec()).or_default() += 1;
            cookie = c;
            true
        })
        .unwrap();
        if got == 0 {
            break;
        }
        // Between batches: new names, removed names (every 7th of the
        // originals), now and then a checkpoint.
        for k in 0..20u32 {
            fs.create(d, format!("b{round}-{k}").as_bytes(), 0o644, 0, 0).unwrap();
        }
        for i in (round * 70..round * 70 + 70).filter(|i| i % 7 == 3 && *i < 3000) {
            fs.unlink(d, format!("a{i}").as_bytes()).unwrap();
        }
        if round % 5 == 4 {
            fs.sync().unwrap();
        }
        round += 1;
    }
    for i in 0..3000u32 {
        let name = format!("a{i}").into_bytes();
        let n = seen.get(&name).copied().unwrap_or(0);
        if i % 7 != 3 {
            assert_eq!(n, 1, "untouched {:?} listed {n} times", String::from_utf8_lossy(&name));
        } else {
            assert!(n <= 1);
        }
    }
    for (name, n) in seen.iter() {
        assert_eq!(*n, 1, "{:?} listed {n} times", String::from_utf8_lossy(name));
        assert!(name[0] == b'a' || name[0] == b'b');
    }
}

/// Blocks left empty are unmapped at the checkpoint (their space goes
/// back), and the directory works on from the blocks that remain.
#[test]
fn emptied_blocks_are_unmapped_and_their_space_returns() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    for i in 0..4000u32 {
        fs.create(d, format!("name-{i:05}").as_bytes(), 0o644, 0, 0).unwrap();
    }
    fs.sync().unwrap();
    let full = fs.dentry_block_count(d).unwrap();
    for i in (0..4000u32).filter(|i| i % 1000 != 0) {
        fs.unlink(d, format!("name-{i:05}").as_bytes()).unwrap();
    }
    fs.sync().unwrap();
    let left = fs.dentry_block_count(d).unwrap();
    assert!(left <= 4 && full > 20, "{full} blocks, {left} after removing all but 4 entries");
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    let names: Vec<Vec<u8>> = listing(&mut fs, d).into_keys().collect();
    assert_eq!(names, [b"name-00000".to_vec(), b"name-01000".to_vec(), b"name-02000".to_vec(), b"name-03000".to_vec()]);
    for i in 0..50u32 {
        fs.create(d, format!("again-{i}").as_bytes(), 0o644, 0, 0).unwrap();
    }
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    assert_eq!(listing(&mut fs, d).len(), 54);
    fsck(&mut fs).unwrap();
}
