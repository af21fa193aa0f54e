//! Corrupted images: 200 seeded mutations (1 to 4 byte-level changes each,
//! half of them aimed at the checkpoint zones) of a small populated image.
//! Each mutated image must either mount and behave (everything readable or
//! clean errors) or be refused with EUCLEAN/EINVAL/EIO; never a panic, and
//! never a hang (each case runs under a 20 s watchdog). A mounted image must
//! show metadata of a legitimate state (the newest one, or an older
//! checkpoint / shorter roll-forward when the newest was damaged): metadata
//! is CRC-protected, so silently changed names, attributes or xattrs are a
//! failure. File data may differ (data blocks have no checksum, by design).
//!
//! `FLUFFLE_CORRUPT_CASES=N` runs N cases instead of 200. The coverage-
//! guided version is the `mount_mutated` fuzz target in `fuzz/`.

mod common;
mod model;

use std::sync::mpsc;
use std::time::Duration;

use common::corrupt::{exercise, exercise_against, mutate, sample_image, Mutation, Verdict, ZONES};
use model::rng::Rng;

fn mutations(seed: u64) -> Vec<Mutation> {
    let mut r = Rng::new(seed);
    let n = r.range(1, 4);
    (0..n)
        .map(|_| Mutation {
            // Half the time one of the first zones (superblock/checkpoint
            // ring and early metadata), otherwise any zone.
            zone: if r.chance(50) { r.below(2) as u32 } else { r.below(ZONES as u64) as u32 },
            offset: r.next_u64() as u32,
            kind: r.below(6) as u8,
            value: r.next_u64() as u8,
        })
        .collect()
}

#[test]
fn mutated_images_never_panic() {
    let cases: u64 = std::env::var("FLUFFLE_CORRUPT_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let image = sample_image();
    // The unmutated image itself mounts and reads back fully.
    assert_eq!(exercise(image.clone()), Ok(Verdict::Mounted));
    let legit = std::sync::Arc::new(common::corrupt::legit_states());
    let mut counts = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    for seed in 0..cases {
        let muts = mutations(seed);
        let mut dev = image.clone();
        for m in &muts {
            mutate(&mut dev, *m);
        }
        let (tx, rx) = mpsc::channel();
        let legit = legit.clone();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(move || exercise_against(dev, Some(&legit)));
            let _ = tx.send(r.map_err(|p| {
                p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
            }));
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(Ok(v))) => *counts.entry(format!("{v:?}")).or_insert(0) += 1,
            Ok(Ok(Err(e))) => failures.push(format!("seed {seed} {muts:?}: {e}")),
            Ok(Err(panic)) => failures.push(format!("seed {seed} {muts:?}: PANIC {panic}")),
            Err(_) => {
                failures.push(format!("seed {seed} {muts:?}: HANG (no result in 20 s)"));
                break; // the stuck thread keeps running; stop here
            }
        }
    }
    eprintln!("{cases} mutated images: {counts:?}");
    assert!(failures.is_empty(), "{} bad cases:\n{}", failures.len(), failures.join("\n"));
}
