//! Random operations steered by the fuzz input: the bytes drive the
//! model-based test's operation generator (`tests/model/`), and every
//! operation runs on the core and on the reference model; any mismatch,
//! panic or hang is a finding. Up to 300 operations per input, on a small
//! device so garbage collection and remounts happen.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/model/mod.rs"]
mod model;

use model::core_adapter::CoreTarget;
use model::driver::run_bytes;
use model::ops::GenConfig;

const CFG: GenConfig = GenConfig { data_budget: 400 << 10, max_file: 128 << 10, snap_slots: 2, max_inodes: 60 };

fuzz_target!(|data: &[u8]| {
    let fs = CoreTarget::new(12, 64, 48).expect("format + mount");
    if let Err(report) = run_bytes(fs, data, 300, &CFG) {
        panic!("{report}");
    }
});
