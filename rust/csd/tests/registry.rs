//! Program registry and attachments.

use csd::abi::*;
use csd::ebpf::opcode::*;
use csd::registry::{AttachKey, Attachment, Caller, Owner, Registry, Stream};

fn prog(r0: i32) -> Vec<u8> {
    [Insn { op: CLS_ALU64 | ALU_MOV, dst: 0, src: 0, off: 0, imm: r0 }.encode(), Insn { op: EXIT, dst: 0, src: 0, off: 0, imm: 0 }.encode()]
        .concat()
}

/// A process with id `pid` (the tests' processes all start at time 0).
const fn own(pid: u64) -> Owner {
    Owner { pid: pid as u32, start: 0 }
}

const A: AttachKey = AttachKey { owner: own(100), object: 7 };
const B: AttachKey = AttachKey { owner: own(100), object: 8 };
const C: AttachKey = AttachKey { owner: own(200), object: 7 };

#[test]
fn load_copies_and_ids_are_fresh() {
    let mut reg = Registry::new();
    let mut code = prog(5);
    let a = reg.load(Caller::ROOT, &code, 0).unwrap();
    code.fill(0); // the registry holds its own copy
    assert_eq!(reg.get(a).unwrap().code(), &prog(5)[..]);
    assert!(reg.get(a).unwrap().program().is_ok());
    let b = reg.load(Caller::ROOT, &prog(6), 0).unwrap();
    assert_ne!(a, 0);
    assert_ne!(a, b);
    reg.unload(Caller::ROOT, a, |_| true).unwrap();
    let c = reg.load(Caller::ROOT, &prog(7), 0).unwrap();
    assert!(c != a && c != b, "a freed id is not reused right away");
    assert_eq!(reg.get(a).err().unwrap().errno.0, 2, "ENOENT");
    assert_eq!(reg.unload(Caller::ROOT, a, |_| true).unwrap_err().errno.0, 2);
    let copy = reg.get(c).unwrap().try_clone().unwrap();
    assert_eq!(copy.id(), c);
    assert_eq!(copy.code(), reg.get(c).unwrap().code());
    assert_eq!(copy.entry(), 0);
}

#[test]
fn program_count_is_bounded() {
    let mut reg = Registry::new();
    for _ in 0..MAX_PROGRAMS {
        reg.load(Caller::ROOT, &prog(1), 0).unwrap();
    }
    assert_eq!(reg.load(Caller::ROOT, &prog(1), 0).unwrap_err().errno.0, 28, "ENOSPC");
    assert_eq!(reg.program_count(), MAX_PROGRAMS as usize);
}

#[test]
fn attachments_are_per_key() {
    let mut reg = Registry::new();
    let r = reg.load(Caller::ROOT, &prog(1), 0).unwrap();
    let w = reg.load(Caller::ROOT, &prog(2), 0).unwrap();
    assert_eq!(reg.attach(A, Stream::Read, 999, |_| true).unwrap_err().errno.0, 2, "unknown id");
    reg.attach(A, Stream::Read, r, |_| true).unwrap();
    reg.attach(A, Stream::Write, w, |_| true).unwrap();
    reg.attach(B, Stream::Read, w, |_| true).unwrap();
    reg.attach(C, Stream::Read, r, |_| true).unwrap();
    assert_eq!(reg.attachment(A), Attachment { read: r, write: w });
    assert_eq!(reg.attachment(B), Attachment { read: w, write: 0 });
    assert_eq!(reg.attachment(AttachKey { owner: own(300), object: 7 }), Attachment::default());
    // Replacing.
    reg.attach(A, Stream::Read, w, |_| true).unwrap();
    assert_eq!(reg.attachment(A).read, w);
    // In use: cannot unload.
    assert_eq!(reg.unload(Caller::ROOT, r, |_| true).unwrap_err().errno.0, 16, "EBUSY");
    // Detach one stream, then the other: the key disappears.
    reg.detach(A, Stream::Write).unwrap();
    assert_eq!(reg.detach(A, Stream::Write).unwrap_err().errno.0, 2);
    assert_eq!(reg.attachment(A), Attachment { read: w, write: 0 });
    reg.detach(A, Stream::Read).unwrap();
    assert_eq!(reg.attachment_count(), 2);
    // Owner 100 exits: only its keys go.
    assert_eq!(reg.detach_owner(own(100)), 1);
    assert_eq!(reg.attachment(C).read, r);
    assert!(reg.detach_key(C));
    assert!(!reg.detach_key(C));
    reg.unload(Caller::ROOT, r, |_| true).unwrap();
    reg.unload(Caller::ROOT, w, |_| true).unwrap();
    assert_eq!(reg.program_count(), 0);
}

#[test]
fn attachment_table_is_bounded() {
    let mut reg = Registry::new();
    let p = reg.load(Caller::ROOT, &prog(1), 0).unwrap();
    for i in 0..MAX_ATTACHMENTS as u64 {
        reg.attach(AttachKey { owner: own(i), object: 1 }, Stream::Read, p, |_| true).unwrap();
    }
    let e = reg.attach(AttachKey { owner: own(u64::MAX), object: 1 }, Stream::Read, p, |_| true).unwrap_err();
    assert_eq!(e.errno.0, 28);
    // Existing keys can still change.
    reg.attach(AttachKey { owner: own(0), object: 1 }, Stream::Write, p, |_| true).unwrap();
    assert_eq!(reg.detach_owner(own(5)), 1);
    reg.attach(AttachKey { owner: own(u64::MAX), object: 1 }, Stream::Read, p, |_| true).unwrap();
}

const ALICE: Caller = Caller { uid: 1000, admin: false };
const BOB: Caller = Caller { uid: 1001, admin: false };

#[test]
fn a_program_belongs_to_its_loader() {
    let mut reg = Registry::new();
    let a = reg.load(ALICE, &prog(1), 0).unwrap();
    assert_eq!(reg.get(a).unwrap().owner_uid(), 1000);
    assert_eq!(reg.unload(BOB, a, |_| true).unwrap_err().errno.0, 1, "EPERM: another user");
    assert_eq!(reg.program_count(), 1);
    reg.unload(ALICE, a, |_| true).unwrap();
    // An administrator may unload anyone's program.
    let b = reg.load(BOB, &prog(2), 0).unwrap();
    reg.unload(Caller::ROOT, b, |_| true).unwrap();
    // Unknown ids stay ENOENT whoever asks (no ownership oracle).
    assert_eq!(reg.unload(BOB, b, |_| true).unwrap_err().errno.0, 2);
}

#[test]
fn each_user_holds_a_bounded_share() {
    let mut reg = Registry::new();
    let first = reg.load(ALICE, &prog(1), 0).unwrap();
    for _ in 1..MAX_PROGRAMS_PER_USER {
        reg.load(ALICE, &prog(1), 0).unwrap();
    }
    assert_eq!(reg.load(ALICE, &prog(1), 0).unwrap_err().errno.0, 122, "EDQUOT");
    assert_eq!(reg.programs_of(1000), MAX_PROGRAMS_PER_USER as usize);
    // Other users, and administrators, still load.
    reg.load(BOB, &prog(1), 0).unwrap();
    for _ in 0..MAX_PROGRAMS_PER_USER {
        reg.load(Caller::ROOT, &prog(1), 0).unwrap();
    }
    // Unloading one gives the slot back.
    reg.unload(ALICE, first, |_| true).unwrap();
    reg.load(ALICE, &prog(1), 0).unwrap();
}

#[test]
fn attachments_end_when_their_process_exits() {
    let mut reg = Registry::new();
    let p = reg.load(ALICE, &prog(1), 0).unwrap();
    let dead = Owner { pid: 42, start: 7 };
    let reborn = Owner { pid: 42, start: 9 }; // the same pid, a later process
    reg.attach(AttachKey { owner: dead, object: 1 }, Stream::Read, p, |_| true).unwrap();
    assert_eq!(reg.attachment(AttachKey { owner: reborn, object: 1 }), Attachment::default(), "a recycled pid is not the owner");
    // While the process lives the program stays in use.
    assert_eq!(reg.unload(ALICE, p, |_| true).unwrap_err().errno.0, 16, "EBUSY");
    // Once it has exited, unloading ends its attachment first.
    reg.unload(ALICE, p, |o| o != dead).unwrap();
    assert_eq!(reg.attachment_count(), 0);

    // A table full of exited processes' attachments makes room.
    let p = reg.load(ALICE, &prog(1), 0).unwrap();
    for i in 0..MAX_ATTACHMENTS {
        reg.attach(AttachKey { owner: Owner { pid: i, start: 1 }, object: 1 }, Stream::Read, p, |_| true).unwrap();
    }
    let late = AttachKey { owner: Owner { pid: 5000, start: 1 }, object: 1 };
    assert_eq!(reg.attach(late, Stream::Read, p, |_| true).unwrap_err().errno.0, 28, "ENOSPC while all live");
    reg.attach(late, Stream::Read, p, |o| o.pid % 2 == 0 || o.pid == 5000).unwrap();
    assert_eq!(reg.attachment_count(), MAX_ATTACHMENTS as usize / 2 + 1);
    assert_eq!(reg.end_exited(|o| o.pid == 5000), MAX_ATTACHMENTS as usize / 2);
}
