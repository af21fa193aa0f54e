//! A tiny seeded PRNG (SplitMix64) so every test run is reproducible from a
//! seed without an extra crate.

/// SplitMix64: small state, good enough statistics for test generation.
/// Fuzz targets use [`Rng::from_bytes`] instead: every decision then comes
/// from the fuzz input, so the fuzzer steers the operation sequence.
#[derive(Clone)]
pub struct Rng(u64, Option<(Vec<u8>, usize)>);

impl Rng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6a09_e667_f3bc_c908, None)
    }

    /// A "generator" that replays `bytes` (two bytes per decision, zeroes
    /// once they run out; see [`Rng::exhausted`]).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Rng(0, Some((bytes.to_vec(), 0)))
    }

    /// True once a byte-driven generator has used up its input.
    pub fn exhausted(&self) -> bool {
        matches!(&self.1, Some((b, i)) if *i >= b.len())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        if let Some((b, i)) = &mut self.1 {
            let mut v = 0u64;
            for _ in 0..2 {
                v = (v << 8) | b.get(*i).copied().unwrap_or(0) as u64;
                *i += 1;
            }
            return v;
        }
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    /// A random element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// Deterministic content for a write: `len` bytes derived from `seed`.
/// Mixes runs of zeroes and random bytes so holes and data are told apart.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let w = r.next_u64();
        for b in w.to_le_bytes() {
            if out.len() < len {
                out.push(b);
            }
        }
    }
    // Every 8th byte is non-zero, so a block of data never reads as a hole.
    for (i, b) in out.iter_mut().enumerate() {
        if i % 8 == 0 && *b == 0 {
            *b = 1;
        }
    }
    out
}
