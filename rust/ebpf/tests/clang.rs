//! Programs compiled from C (bpf/tests/*.c) by `clang-19 -target bpf -O2`
//! run correctly: loops, bpf-to-bpf calls (static, global, recursive),
//! stack use, helper calls. Also exercises the ELF extractor on real
//! objects. clang-19 missing is a test FAILURE, not a skip.

mod common;
use common::*;
use ebpf::elf::{extract_program, extract_program_mut, ElfError, Selector};
use ebpf::{interpreter, memory, verify, Memory, RunErrorKind, VerifyConfig};
use std::path::PathBuf;
use std::process::Command;

fn sources() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bpf/tests")
}

/// Compiles bpf/tests/<name>.c and returns the object bytes.
fn compile(name: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("fluffle-ebpf-clang-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = sources().join(format!("{name}.c"));
    let obj = dir.join(format!("{name}.o"));
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-O2", "-Wall", "-Werror", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap_or_else(|e| {
            panic!("clang-19 is required for the eBPF tests but could not be run ({e}); install it: apt-get install -y clang-19 llvm-19")
        });
    assert!(out.status.success(), "clang-19 failed on {}:\n{}", src.display(), String::from_utf8_lossy(&out.stderr));
    std::fs::read(&obj).unwrap()
}

/// Extracts `function`, verifies it and runs it with `ctx` as r1, with host
/// addresses and again with virtual addresses: both must agree exactly.
fn run_fn(elf: &mut [u8], function: &str, ctx: &mut [u8]) -> Result<ebpf::Exit, ebpf::RunError> {
    let sel = Selector { section: None, function: Some(function) };
    let p = extract_program_mut(elf, &sel).unwrap_or_else(|e| panic!("{function}: {e}"));
    let prog = verify(p.code, p.entry, &VerifyConfig::new(TEST_HELPER_IDS)).unwrap_or_else(|e| panic!("{function}: {e}"));
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut ctx_virt = ctx.to_vec();
    let virt = {
        let mut mem = Memory::with_virtual_addresses(&mut stack);
        let r1 = mem.add_writable(&mut ctx_virt).unwrap();
        assert_eq!(r1, 2 << 32);
        let mut h = TestHelpers { extra: None, calls: 0 };
        interpreter::run(&prog, &mut mem, &mut h, r1, 50_000_000)
    };
    // The pre-decoded interpreter, virtual addresses too.
    let mut ctx_dec = ctx.to_vec();
    let ops = decode(&prog);
    let dec = {
        let mut mem = Memory::with_virtual_addresses(&mut stack);
        let r1 = mem.add_writable(&mut ctx_dec).unwrap();
        let mut h = TestHelpers { extra: None, calls: 0 };
        ebpf::run_decoded(&ebpf::Decoded::reuse(&ops, prog.entry()), &mut mem, &mut h, r1, 50_000_000)
    };
    assert_same(&virt, &dec);
    assert_eq!(ctx_virt, ctx_dec, "{function}: memory effects of the pre-decoded run differ");
    let mut mem = Memory::new(&mut stack);
    let r1 = mem.add_writable(ctx).unwrap();
    let mut h = TestHelpers { extra: None, calls: 0 };
    let host = interpreter::run(&prog, &mut mem, &mut h, r1, 50_000_000);
    // Same result; fault addresses differ between the modes, indices not.
    match (&host, &virt) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!((a.index, a.kind.describe()), (b.index, b.kind.describe())),
        _ => panic!("{function}: host {host:?} vs virtual {virt:?}"),
    }
    assert_eq!(ctx, &ctx_virt[..]);
    host
}

fn words(ws: &[u64]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn sum_squares_ref(n: u64) -> u64 {
    let mut s = 0u64;
    for i in 0..n {
        s = s.wrapping_add(i.wrapping_mul(i) ^ (s >> 5));
    }
    s
}

#[test]
fn loops_sum_squares() {
    let mut elf = compile("loops");
    for n in [0u64, 1, 2, 10, 1000, 100_000] {
        let mut ctx = words(&[n]);
        let exit = run_fn(&mut elf, "sum_squares", &mut ctx).unwrap();
        assert_eq!(exit.r0, sum_squares_ref(n), "n = {n}");
    }
    // A big n runs out of budget instead of hanging.
    let mut ctx = words(&[u64::MAX]);
    let e = run_fn(&mut elf, "sum_squares", &mut ctx).unwrap_err();
    assert_eq!(e.kind, RunErrorKind::BudgetExhausted);
}

fn hist_ctx(data: &[u8]) -> Vec<u8> {
    let mut ctx = (data.len() as u64).to_le_bytes().to_vec();
    ctx.extend_from_slice(&[0u8; 1024]);
    ctx.extend_from_slice(data);
    ctx
}

#[test]
fn loops_histogram_matches_and_agrees_with_rbpf() {
    let mut elf = compile("loops");
    let data: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 & 0x7f).collect();
    let mut ctx = hist_ctx(&data);
    let exit = run_fn(&mut elf, "histogram", &mut ctx).unwrap();
    let mut hist = [0u32; 256];
    data.iter().for_each(|&b| hist[b as usize] += 1);
    assert_eq!(exit.r0, hist.iter().filter(|&&c| c > 0).count() as u64);
    for (b, &c) in hist.iter().enumerate() {
        let got = u32::from_le_bytes(ctx[8 + 4 * b..12 + 4 * b].try_into().unwrap());
        assert_eq!(got, c, "bin {b}");
    }
    // Same program on rbpf (no calls in it): same answer, same memory.
    let p = extract_program_mut(&mut elf, &Selector { section: None, function: Some("histogram") }).unwrap();
    let code = p.code[p.entry * 8..].to_vec();
    let vm = rbpf::EbpfVmRaw::new(Some(&code)).unwrap();
    let mut ctx2 = hist_ctx(&data);
    assert_eq!(vm.execute_program(&mut ctx2).unwrap(), exit.r0);
    assert_eq!(ctx2, ctx);
    // A length past the buffer faults on the first byte outside it.
    let mut ctx = hist_ctx(&data);
    ctx[0..8].copy_from_slice(&(data.len() as u64 + 1).to_le_bytes());
    let e = run_fn(&mut elf, "histogram", &mut ctx).unwrap_err();
    assert!(matches!(e.kind, RunErrorKind::BadLoad { len: 1, .. }), "{e}");
}

fn mix(a: u64, b: u64) -> u64 {
    a.wrapping_mul(31).wrapping_add(b ^ (a >> 3))
}
fn gmix(a: u64, b: u64, c: u64) -> u64 {
    (a ^ c).wrapping_add(b.wrapping_mul(7))
}
fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

#[test]
fn calls_static_global_and_recursive() {
    let mut elf = compile("calls");
    // The read-only extractor refuses: the global call needs patching.
    let sel = Selector { section: None, function: Some("calls_main") };
    assert_eq!(extract_program(&elf, &sel).unwrap_err(), ElfError::NeedsPatching);
    for (n, salt, f) in [(0u64, 0u64, 0u64), (5, 77, 5), (300, 0xdead_beef, 6)] {
        let mut acc = 1u64;
        for i in 0..n {
            acc = mix(acc, i).wrapping_add(gmix(acc, i, salt));
        }
        let mut ctx = words(&[n, salt, f]);
        let exit = run_fn(&mut elf, "calls_main", &mut ctx).unwrap();
        assert_eq!(exit.r0, acc.wrapping_add(fib(f)), "n {n} salt {salt} fib {f}");
    }
    // fib(8) needs main + 8 nested frames: more than the 8 allowed.
    let mut ctx = words(&[0, 0, 8]);
    let e = run_fn(&mut elf, "calls_main", &mut ctx).unwrap_err();
    assert_eq!(e.kind, RunErrorKind::CallDepthExceeded);
}

#[test]
fn stack_array_filled_by_callee_and_sorted() {
    let mut elf = compile("stack");
    for seed in [0u64, 1, 0x1234_5678_9abc] {
        let mut a = [0u64; 48];
        let mut s = seed;
        for x in a.iter_mut() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            *x = s >> 33;
        }
        a.sort();
        let sum = a.iter().fold(0u64, |acc, &x| acc.wrapping_mul(3).wrapping_add(x));
        let mut ctx = words(&[seed; 49]);
        let exit = run_fn(&mut elf, "stack_main", &mut ctx).unwrap();
        assert_eq!(exit.r0, sum);
        assert_eq!(&ctx[8..], &words(&a)[..]);
    }
}

#[test]
fn helper_call_by_id() {
    let mut elf = compile("helpers");
    let mut ctx = words(&[10, 20]);
    assert_eq!(run_fn(&mut elf, "helpers_main", &mut ctx).unwrap().r0, (10 + 20 + 3 + 4 + 5) * 2);
    // A verifier without helper 1 rejects the program.
    let p = extract_program(&elf, &Selector::default()).unwrap();
    let e = verify(p.code, p.entry, &VerifyConfig::new(&[])).unwrap_err();
    assert_eq!(e.reason, ebpf::VerifyReason::UnknownHelper);
}

#[test]
fn elf_refuses_what_it_cannot_link() {
    let mut elf = compile("reloc_data");
    let sel = Selector { section: None, function: Some("data_main") };
    assert_eq!(extract_program_mut(&mut elf, &sel).unwrap_err(), ElfError::UnsupportedRelocation);
    let mut elf = compile("reloc_cross");
    let sel = Selector { section: Some("csd"), function: None };
    assert_eq!(extract_program_mut(&mut elf, &sel).unwrap_err(), ElfError::CallIntoOtherSection);
    let sel = Selector { section: Some("nope"), function: None };
    assert_eq!(extract_program(&elf, &sel).unwrap_err(), ElfError::NoSuchSection);
    let sel = Selector { section: None, function: Some("nope") };
    assert_eq!(extract_program(&elf, &sel).unwrap_err(), ElfError::NoSuchFunction);
    let sel = Selector { section: Some(".text"), function: Some("cross_main") };
    assert_eq!(extract_program(&elf, &sel).unwrap_err(), ElfError::FunctionNotInSection);
    // The function in .text alone needs no relocation.
    let sel = Selector { section: None, function: Some("helper_in_text") };
    let p = extract_program(&elf, &sel).unwrap();
    assert!(verify(p.code, p.entry, &VerifyConfig::new(&[])).is_ok());
}

#[test]
fn elf_survives_truncation_and_corruption() {
    let elf = compile("calls");
    let sel = Selector { section: None, function: Some("calls_main") };
    for len in 0..elf.len() {
        let mut cut = elf[..len].to_vec();
        let _ = extract_program_mut(&mut cut, &sel);
        let _ = extract_program(&cut, &Selector::default());
    }
    let mut rng = 0x1234_5678u64;
    for _ in 0..3000 {
        let mut bad = elf.clone();
        for _ in 0..4 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let i = (rng % bad.len() as u64) as usize;
            bad[i] = (rng >> 32) as u8;
        }
        if let Ok(p) = extract_program_mut(&mut bad, &sel) {
            // Whatever comes out goes through the verifier and the VM.
            let code = p.code.to_vec();
            if let Ok(prog) = verify(&code, p.entry, &VerifyConfig::new(&[])) {
                let mut stack = vec![0u8; memory::STACK_SIZE];
                let mut mem = Memory::new(&mut stack);
                let a = interpreter::run(&prog, &mut mem, &mut ebpf::NoHelpers, 0, 10_000);
                let ops = decode(&prog);
                let mut mem = Memory::new(&mut stack);
                let b = ebpf::run_decoded(&ebpf::Decoded::reuse(&ops, prog.entry()), &mut mem, &mut ebpf::NoHelpers, 0, 10_000);
                assert_same(&a, &b);
            }
        }
    }
    assert!(extract_program(b"\x7fELF", &Selector::default()).is_err());
    assert_eq!(extract_program(b"not an elf at all, no", &Selector::default()).unwrap_err(), ElfError::NotElf64Le);
}
