//! Directories whose entries live in dentry blocks (`dir_blocks.rs`): one
//! changed entry costs a block, not the directory; entries, their readdir
//! cookies and renames (also to longer names that no longer fit their
//! block) survive remounts; fsck reads the blocks back.

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
        // that was there before the round kept its cookie.
        let after = cookies(&mut fs, d);
        assert_eq!(after, during, "round {round}: cookies changed across the remount");
        let kept: BTreeMap<u64, Vec<u8>> = after.into_iter().collect();
        for (c, name) in before {
            if let Some(n) = kept.get(&c) {
                assert!(n == &name || n.starts_with(&name), "cookie {c} moved from {name:?} to {n:?}");
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
