//! Fuzz target: arbitrary bytes through the ELF extractor, the verifier,
//! the translation to pre-decoded ops and both interpreters. Nothing may
//! panic, hang or touch memory outside the regions (the sanitizer and the
//! region checks would tell), and the two interpreters must end the same
//! way with the same memory effects (an unsound access proof would show
//! up as a difference).
//!
//! Input layout: byte 0 = flags (bit 0: treat the rest as an ELF object;
//! bit 1: virtual addresses; bits 2-7: entry for raw programs), byte 1 =
//! context length, then the context bytes, then the program.
#![no_main]

use ebpf::elf::{extract_program_mut, Selector};
use ebpf::{interpreter, memory, run_decoded, translate, verify, HelperError, Helpers, Memory, Op, VerifyConfig};
use libfuzzer_sys::fuzz_target;

/// Helpers that use the memory accessors with program-chosen arguments.
struct FuzzHelpers<'a> {
    scratch: Option<&'a mut [u8]>,
}

impl<'a> Helpers<'a> for FuzzHelpers<'a> {
    fn call(&mut self, id: u32, a: [u64; 5], mem: &mut Memory<'a>) -> Result<u64, HelperError> {
        match id {
            // Copy a[2] bytes (at most 64) from a[1] to a[0].
            1 => {
                let mut buf = [0u8; 64];
                let n = (a[2] as usize).min(buf.len());
                mem.read(a[1], &mut buf[..n])?;
                mem.write(a[0], &buf[..n])?;
                Ok(n as u64)
            }
            // Hand out the scratch region once.
            2 => match self.scratch.take() {
                Some(s) => mem.add_writable(s),
                None => Err(HelperError::INVALID),
            },
            // Sum of a readable slice.
            3 => {
                let s = mem.slice(a[0], (a[1] as usize).min(4096))?;
                Ok(s.iter().map(|&b| b as u64).sum())
            }
            _ => Err(ebpf::helpers::UNKNOWN_HELPER),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let flags = data[0];
    let ctx_len = (data[1] as usize).min(data.len() - 2);
    let mut ctx = data[2..2 + ctx_len].to_vec();
    let mut code = data[2 + ctx_len..].to_vec();
    let (code, entry): (&[u8], usize) = if flags & 1 != 0 {
        match extract_program_mut(&mut code, &Selector::default()) {
            Ok(p) => (p.code, p.entry),
            Err(e) => {
                assert!(!e.describe().is_empty());
                return;
            }
        }
    } else {
        (&code, (flags >> 2) as usize)
    };
    let cfg = VerifyConfig { max_insns: 4096, helper_ids: &[1, 2, 3] };
    let prog = match verify(code, entry, &cfg) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.describe().is_empty());
            return;
        }
    };
    let mut ops = vec![Op::INVALID; prog.len()];
    let decoded = translate(&prog, &mut ops).expect("buffer has prog.len() ops");
    // Both interpreters over the same buffers (so the same addresses), from
    // the same initial contents.
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut scratch = vec![0u8; 256];
    let ctx_init = ctx.clone();
    let mut outcomes = Vec::new();
    for decoded_run in [false, true] {
        ctx.copy_from_slice(&ctx_init);
        scratch.fill(0);
        let r = {
            let mut mem = if flags & 2 != 0 { Memory::with_virtual_addresses(&mut stack) } else { Memory::new(&mut stack) };
            let r1 = mem.add_writable(&mut ctx).unwrap_or(0);
            let mut helpers = FuzzHelpers { scratch: Some(&mut scratch) };
            if decoded_run {
                run_decoded(&decoded, &mut mem, &mut helpers, r1, 20_000)
            } else {
                interpreter::run(&prog, &mut mem, &mut helpers, r1, 20_000)
            }
        };
        match &r {
            Ok(exit) => assert!(exit.insns <= 20_000),
            Err(e) => assert!(!e.describe().is_empty()),
        }
        outcomes.push((r, ctx.clone(), scratch.clone()));
    }
    assert_eq!(outcomes[0], outcomes[1], "checked vs pre-decoded interpreter");
});
