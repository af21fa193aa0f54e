//! The helper interface: fn-pointer tables with embedder state, memory
//! accessors that go through the region checks, regions added mid-run.

mod common;
use common::*;
use ebpf::opcode::*;
use ebpf::{memory, run, verify, HelperError, HelperFn, HelperTable, Memory, RunErrorKind, VerifyConfig};

/// Embedder state: a scratch buffer handed out once, and an output sink.
struct State<'a> {
    scratch: Option<&'a mut [u8]>,
    output: Vec<u8>,
}

/// id 10: r0 = address of a 64-byte writable scratch region.
fn get_scratch<'a>(s: &mut State<'a>, _a: [u64; 5], mem: &mut Memory<'a>) -> Result<u64, HelperError> {
    let buf = s.scratch.take().ok_or(HelperError::INVALID)?;
    mem.add_writable(buf)
}

/// id 11: emit(ptr, len): copies program memory to the output.
fn emit<'a>(s: &mut State<'a>, a: [u64; 5], mem: &mut Memory<'a>) -> Result<u64, HelperError> {
    let bytes = mem.slice(a[0], a[1] as usize)?;
    s.output.extend_from_slice(bytes);
    Ok(a[1])
}

/// id 12: fill(ptr, len, byte) through the checked writer.
fn fill<'a>(_s: &mut State<'a>, a: [u64; 5], mem: &mut Memory<'a>) -> Result<u64, HelperError> {
    let dst = mem.slice_mut(a[0], a[1] as usize)?;
    dst.fill(a[2] as u8);
    Ok(0)
}

const TABLE: &[(u32, HelperFn<'static, State<'static>>)] = &[(10, get_scratch), (11, emit), (12, fill)];
const IDS: &[u32] = &[10, 11, 12];

fn run_with_table(code: &[u8], scratch: &mut [u8]) -> (Result<ebpf::Exit, ebpf::RunError>, Vec<u8>) {
    let prog = verify(code, 0, &VerifyConfig::new(IDS)).unwrap();
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut mem = Memory::new(&mut stack);
    let mut state = State { scratch: Some(scratch), output: Vec::new() };
    // The table's fn items are generic over the lifetime; build it for this run.
    let entries: [(u32, HelperFn<'_, State<'_>>); 3] = [(10, get_scratch), (11, emit), (12, fill)];
    let mut table = HelperTable { entries: &entries, state: &mut state };
    assert!(table.has(11) && !table.has(13));
    let r = run(&prog, &mut mem, &mut table, 0, 10_000);
    (r, state.output)
}

#[test]
fn table_helpers_scratch_fill_emit() {
    let _ = TABLE;
    let mut scratch = [0u8; 64];
    let mut p = Asm::new();
    p.call_helper(10) // r0 = scratch
        .alu64_x(ALU_MOV, 6, 0)
        .alu64_x(ALU_MOV, 1, 6)
        .mov64(2, 16)
        .mov64(3, 0x41)
        .call_helper(12) // fill scratch[0..16] with 'A'
        .st(SIZE_B, 6, 3, 0x42) // scratch[3] = 'B' (program store into the new region)
        .alu64_x(ALU_MOV, 1, 6)
        .mov64(2, 5)
        .call_helper(11) // emit scratch[0..5]
        .st(SIZE_W, 10, -4, 0x2144_4f47) // "GOD!" on the stack
        .alu64_x(ALU_MOV, 1, 10)
        .alu64_k(ALU_ADD, 1, -4)
        .mov64(2, 4)
        .call_helper(11) // emit from the stack
        .exit();
    let (r, out) = run_with_table(&p.code, &mut scratch);
    assert_eq!(r.unwrap().r0, 4);
    assert_eq!(out, b"AAABAGOD!");
    assert_eq!(&scratch[..17], b"AAABAAAAAAAAAAAA\0");
}

#[test]
fn helper_accesses_are_checked() {
    let mut scratch = [0u8; 64];
    // emit() of 65 bytes from a 64-byte region fails inside the helper.
    let mut p = Asm::new();
    p.call_helper(10).alu64_x(ALU_MOV, 1, 0).mov64(2, 65).call_helper(11).exit();
    let (r, out) = run_with_table(&p.code, &mut scratch);
    let e = r.unwrap_err();
    assert_eq!(e.kind, RunErrorKind::Helper(HelperError::FAULT));
    assert_eq!(e.index, 3);
    assert!(out.is_empty());
    // fill() on the stack top (outside) fails; the second get_scratch too.
    let mut p = Asm::new();
    p.alu64_x(ALU_MOV, 1, 10).mov64(2, 1).call_helper(12).exit();
    assert_eq!(run_with_table(&p.code, &mut scratch).0.unwrap_err().kind, RunErrorKind::Helper(HelperError::FAULT));
    let mut p = Asm::new();
    p.call_helper(10).call_helper(10).exit();
    assert_eq!(run_with_table(&p.code, &mut scratch).0.unwrap_err().kind, RunErrorKind::Helper(HelperError::INVALID));
}

#[test]
fn region_table_is_bounded_and_checked() {
    let mut stack = vec![0u8; 512];
    let mut bufs: Vec<[u8; 8]> = vec![[0u8; 8]; memory::MAX_REGIONS + 2];
    let mut mem = Memory::new(&mut stack);
    assert_eq!(mem.frames(), 1);
    let mut addrs = Vec::new();
    let mut iter = bufs.iter_mut();
    for _ in 1..memory::MAX_REGIONS {
        addrs.push(mem.add_writable(iter.next().unwrap()).unwrap());
    }
    assert_eq!(mem.add_writable(iter.next().unwrap()), Err(HelperError::TOO_MANY_REGIONS));
    assert_eq!(mem.region_count(), memory::MAX_REGIONS);
    // Exact fits pass; an access straddling two adjacent regions fails
    // (bufs are contiguous); past the last region fails.
    let a = addrs[3];
    assert_eq!(addrs[4], a + 8);
    assert!(mem.write(a, &[1; 8]).is_ok());
    assert!(mem.write(a + 1, &[1; 8]).is_err());
    assert!(mem.slice(a + 4, 8).is_err());
    assert!(mem.slice(addrs[14] + 8, 1).is_err());
    assert!(mem.slice(a.wrapping_sub(1), 2).is_err());
    assert!(mem.slice(u64::MAX, 2).is_err());
    let mut out = [0u8; 8];
    mem.read(a, &mut out).unwrap();
    assert_eq!(out, [1; 8]);
    // The stack is region 0 and ends at stack_top.
    let top = mem.stack_top();
    assert!(mem.slice(top - 512, 512).is_ok());
    assert!(mem.slice(top - 512, 513).is_err());
    assert_eq!(bufs[3], [1; 8]);
}

#[test]
fn readonly_region_refuses_helper_writes() {
    let ro = [7u8; 4];
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut mem = Memory::new(&mut stack);
    let a = mem.add_readonly(&ro).unwrap();
    assert_eq!(mem.slice(a, 4).unwrap(), &[7; 4]);
    assert_eq!(mem.write(a, &[0]), Err(HelperError::FAULT));
    assert!(mem.slice_mut(a, 1).is_err());
}

#[test]
fn stack_is_zeroed_between_runs() {
    // Run 1 writes the stack; run 2 with the same stack must read zeros.
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut w = Asm::new();
    w.st(SIZE_DW, 10, -8, 1234).mov64(0, 0).exit();
    let mut r = Asm::new();
    r.ldx(SIZE_DW, 0, 10, -8).exit();
    let pw = verify_code(&w.code).unwrap();
    let pr = verify_code(&r.code).unwrap();
    {
        let mut mem = Memory::new(&mut stack);
        run(&pw, &mut mem, &mut ebpf::NoHelpers, 0, 10).unwrap();
    }
    assert!(stack.iter().any(|&b| b != 0));
    let mut mem = Memory::new(&mut stack);
    assert_eq!(run(&pr, &mut mem, &mut ebpf::NoHelpers, 0, 10).unwrap().r0, 0);
}

#[test]
fn virtual_addresses_hide_host_pointers() {
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut ctx = [5u8; 16];
    let host = ctx.as_ptr() as u64;
    let mut mem = Memory::with_virtual_addresses(&mut stack);
    assert!(mem.virtual_addresses());
    assert_eq!(mem.stack_top(), (1 << 32) + memory::STACK_SIZE as u64);
    let r1 = mem.add_writable(&mut ctx).unwrap();
    assert_eq!(r1, 2 << 32);
    // r0 = r1 + r10, loads and stores through both, and the stack grows down.
    let mut p = Asm::new();
    p.ldx(SIZE_B, 2, 1, 15)
        .stx(SIZE_B, 10, 2, -1)
        .ldx(SIZE_B, 3, 10, -1)
        .st(SIZE_B, 1, 0, 9)
        .alu64_x(ALU_MOV, 0, 1)
        .alu64_x(ALU_ADD, 0, 10)
        .alu64_x(ALU_ADD, 0, 3)
        .exit();
    let prog = verify_code(&p.code).unwrap();
    let exit = run(&prog, &mut mem, &mut ebpf::NoHelpers, r1, 100).unwrap();
    assert_eq!(exit.r0, (2 << 32) + (1 << 32) + memory::STACK_SIZE as u64 + 5);
    // Between regions there is nothing.
    let mut p = Asm::new();
    p.ldx(SIZE_B, 0, 1, 16).exit();
    let prog = verify_code(&p.code).unwrap();
    let e = run(&prog, &mut mem, &mut ebpf::NoHelpers, r1, 100).unwrap_err();
    assert_eq!(e.kind, RunErrorKind::BadLoad { addr: (2 << 32) + 16, len: 1 });
    // The host address means nothing in virtual mode.
    assert!(mem.slice(host, 1).is_err());
    assert_eq!(ctx[0], 9);
}

/// Counts ticks; fails the run at tick `stop_at` if set.
struct Ticker {
    ticks: u64,
    stop_at: Option<u64>,
}

impl<'a> ebpf::Helpers<'a> for Ticker {
    fn call(&mut self, _id: u32, _a: [u64; 5], _m: &mut Memory<'a>) -> Result<u64, HelperError> {
        Err(HelperError::INVALID)
    }
    fn tick(&mut self) -> Result<(), HelperError> {
        self.ticks += 1;
        if Some(self.ticks) == self.stop_at {
            return Err(HelperError { errno: 4, reason: "interrupted" });
        }
        Ok(())
    }
}

/// `ja -1`: an endless loop that calls no helper.
fn endless() -> Vec<u8> {
    [raw(JA, 0, 0, -1, 0), raw(EXIT, 0, 0, 0, 0)].concat()
}

#[test]
fn tick_runs_every_tick_insns_even_without_helper_calls() {
    let code = endless();
    let prog = verify(&code, 0, &VerifyConfig::new(&[])).unwrap();
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut mem = Memory::new(&mut stack);
    let mut t = Ticker { ticks: 0, stop_at: None };
    let budget = 5 * ebpf::interpreter::TICK_INSNS + 7;
    let e = run(&prog, &mut mem, &mut t, 0, budget).unwrap_err();
    assert_eq!(e.kind, RunErrorKind::BudgetExhausted);
    // A tick whenever the remaining budget is a multiple of TICK_INSNS:
    // at 5T, 4T, ..., T and 0 remaining.
    assert_eq!(t.ticks, (budget - 1) / ebpf::interpreter::TICK_INSNS + 1, "one tick per TICK_INSNS instructions");
}

#[test]
fn a_failing_tick_ends_the_run_with_its_error() {
    let code = endless();
    let prog = verify(&code, 0, &VerifyConfig::new(&[])).unwrap();
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut mem = Memory::new(&mut stack);
    let mut t = Ticker { ticks: 0, stop_at: Some(2) };
    let e = run(&prog, &mut mem, &mut t, 0, u64::MAX).unwrap_err();
    assert!(matches!(e.kind, RunErrorKind::Helper(h) if h.errno == 4), "{e:?}");
    assert_eq!(t.ticks, 2);
}
