//! Snapshot reads (what a CSD kernel's `csd_read` gets): every byte equal
//! to the file's content at snapshot time, at any offset and length, over
//! holes, several extents and a partial last block; and whole contiguous
//! blocks read with one device request, not one per block.

mod common;
mod model;

use common::*;
use model::rng::{pattern, Rng};

const BLOCK: usize = 4096;

#[test]
fn snapshot_reads_match_the_content_and_batch_contiguous_blocks() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let f = fs.create(ROOT, b"f", 0o644, 0, 0).unwrap().ino;
    // Two extents (the second write goes elsewhere in the log after an
    // unrelated file's data), a hole between them and a partial last block.
    let a = pattern(1, 40 * BLOCK);
    fs.write(f, 0, &a).unwrap();
    fs.sync().unwrap();
    let g = fs.create(ROOT, b"g", 0o644, 0, 0).unwrap().ino;
    fs.write(g, 0, &pattern(2, 3 * BLOCK)).unwrap();
    fs.sync().unwrap();
    let b = pattern(3, 20 * BLOCK + 123);
    let b_at = 60 * BLOCK as u64;
    fs.write(f, b_at, &b).unwrap();
    fs.sync().unwrap();
    let mut want = a.clone();
    want.resize(b_at as usize, 0);
    want.extend_from_slice(&b);
    assert_eq!(read_all(&mut fs, f).unwrap(), want);

    let snap = fs.snapshot(f).unwrap();
    // Later writes do not show through.
    fs.write(f, 0, &pattern(9, 100 * BLOCK)).unwrap();
    fs.sync().unwrap();

    let mut rng = Rng::new(7);
    for _ in 0..400 {
        let off = rng.below(want.len() as u64 + 2 * BLOCK as u64);
        let len = rng.below(24 * BLOCK as u64) as usize;
        let mut buf = vec![0xAAu8; len];
        let n = fs.snapshot_read(snap, off, &mut buf).unwrap();
        let o = (off as usize).min(want.len());
        let end = (o + len).min(want.len());
        assert_eq!(n, end - o, "length at {off}+{len}");
        assert!(buf[..n] == want[o..end], "content at {off}+{len}");
        assert!(buf[n..].iter().all(|&x| x == 0xAA), "nothing written past the end at {off}+{len}");
    }

    // 16 aligned whole blocks inside the first extent: one device read.
    let before = fs.device().stats().reads;
    let mut buf = vec![0u8; 16 * BLOCK];
    fs.snapshot_read(snap, 8 * BLOCK as u64, &mut buf).unwrap();
    assert_eq!(fs.device().stats().reads - before, 1, "one request for a contiguous run");
    assert!(buf[..] == want[8 * BLOCK..24 * BLOCK]);
    // A read across the hole costs one request per extent, none for the hole.
    let before = fs.device().stats().reads;
    let mut buf = vec![0u8; 40 * BLOCK];
    fs.snapshot_read(snap, 30 * BLOCK as u64, &mut buf).unwrap();
    assert_eq!(fs.device().stats().reads - before, 2);
    assert!(buf[..] == want[30 * BLOCK..70 * BLOCK]);
    fs.release_snapshot(snap).unwrap();
}
