//! Mount of a mutated image: a small populated image (see
//! `tests/common/corrupt.rs`) gets up to 16 mutations decoded from the fuzz
//! input (7 bytes each: zone, offset u32 LE, kind, value), then it is
//! mounted, walked completely, checked, written, unmounted and remounted.
//! A panic, a hang (libFuzzer's -timeout) or an errno other than
//! EUCLEAN/EINVAL/EIO from mount or reads is a finding.
#![no_main]

use std::sync::OnceLock;

use fluffle::memdev::MemDevice;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/mod.rs"]
mod common;

use common::corrupt::{exercise, mutate, sample_image, Mutation};

static IMAGE: OnceLock<MemDevice> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let mut dev = IMAGE.get_or_init(sample_image).clone();
    for c in data.chunks_exact(7).take(16) {
        let m = Mutation { zone: c[0] as u32, offset: u32::from_le_bytes([c[1], c[2], c[3], c[4]]), kind: c[5], value: c[6] };
        mutate(&mut dev, m);
    }
    if let Err(e) = exercise(dev) {
        panic!("{e}");
    }
});
