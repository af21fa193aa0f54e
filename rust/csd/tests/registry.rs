//! Program registry and attachments.

use csd::abi::*;
use csd::ebpf::opcode::*;
use csd::registry::{AttachKey, Attachment, Registry, Stream};

fn prog(r0: i32) -> Vec<u8> {
    [Insn { op: CLS_ALU64 | ALU_MOV, dst: 0, src: 0, off: 0, imm: r0 }.encode(), Insn { op: EXIT, dst: 0, src: 0, off: 0, imm: 0 }.encode()]
        .concat()
}

const A: AttachKey = AttachKey { owner: 100, object: 7 };
const B: AttachKey = AttachKey { owner: 100, object: 8 };
const C: AttachKey = AttachKey { owner: 200, object: 7 };

#[test]
fn load_copies_and_ids_are_fresh() {
    let mut reg = Registry::new();
    let mut code = prog(5);
    let a = reg.load(&code, 0).unwrap();
    code.fill(0); // the registry holds its own copy
    assert_eq!(reg.get(a).unwrap().code(), &prog(5)[..]);
    assert!(reg.get(a).unwrap().program().is_ok());
    let b = reg.load(&prog(6), 0).unwrap();
    assert_ne!(a, 0);
    assert_ne!(a, b);
    reg.unload(a).unwrap();
    let c = reg.load(&prog(7), 0).unwrap();
    assert!(c != a && c != b, "a freed id is not reused right away");
    assert_eq!(reg.get(a).err().unwrap().errno.0, 2, "ENOENT");
    assert_eq!(reg.unload(a).unwrap_err().errno.0, 2);
    let copy = reg.get(c).unwrap().try_clone().unwrap();
    assert_eq!(copy.id(), c);
    assert_eq!(copy.code(), reg.get(c).unwrap().code());
    assert_eq!(copy.entry(), 0);
}

#[test]
fn program_count_is_bounded() {
    let mut reg = Registry::new();
    for _ in 0..MAX_PROGRAMS {
        reg.load(&prog(1), 0).unwrap();
    }
    assert_eq!(reg.load(&prog(1), 0).unwrap_err().errno.0, 28, "ENOSPC");
    assert_eq!(reg.program_count(), MAX_PROGRAMS as usize);
}

#[test]
fn attachments_are_per_key() {
    let mut reg = Registry::new();
    let r = reg.load(&prog(1), 0).unwrap();
    let w = reg.load(&prog(2), 0).unwrap();
    assert_eq!(reg.attach(A, Stream::Read, 999).unwrap_err().errno.0, 2, "unknown id");
    reg.attach(A, Stream::Read, r).unwrap();
    reg.attach(A, Stream::Write, w).unwrap();
    reg.attach(B, Stream::Read, w).unwrap();
    reg.attach(C, Stream::Read, r).unwrap();
    assert_eq!(reg.attachment(A), Attachment { read: r, write: w });
    assert_eq!(reg.attachment(B), Attachment { read: w, write: 0 });
    assert_eq!(reg.attachment(AttachKey { owner: 300, object: 7 }), Attachment::default());
    // Replacing.
    reg.attach(A, Stream::Read, w).unwrap();
    assert_eq!(reg.attachment(A).read, w);
    // In use: cannot unload.
    assert_eq!(reg.unload(r).unwrap_err().errno.0, 16, "EBUSY");
    // Detach one stream, then the other: the key disappears.
    reg.detach(A, Stream::Write).unwrap();
    assert_eq!(reg.detach(A, Stream::Write).unwrap_err().errno.0, 2);
    assert_eq!(reg.attachment(A), Attachment { read: w, write: 0 });
    reg.detach(A, Stream::Read).unwrap();
    assert_eq!(reg.attachment_count(), 2);
    // Owner 100 exits: only its keys go.
    assert_eq!(reg.detach_owner(100), 1);
    assert_eq!(reg.attachment(C).read, r);
    assert!(reg.detach_key(C));
    assert!(!reg.detach_key(C));
    reg.unload(r).unwrap();
    reg.unload(w).unwrap();
    assert_eq!(reg.program_count(), 0);
}

#[test]
fn attachment_table_is_bounded() {
    let mut reg = Registry::new();
    let p = reg.load(&prog(1), 0).unwrap();
    for i in 0..MAX_ATTACHMENTS as u64 {
        reg.attach(AttachKey { owner: i, object: 1 }, Stream::Read, p).unwrap();
    }
    let e = reg.attach(AttachKey { owner: u64::MAX, object: 1 }, Stream::Read, p).unwrap_err();
    assert_eq!(e.errno.0, 28);
    // Existing keys can still change.
    reg.attach(AttachKey { owner: 0, object: 1 }, Stream::Write, p).unwrap();
    assert_eq!(reg.detach_owner(5), 1);
    reg.attach(AttachKey { owner: u64::MAX, object: 1 }, Stream::Read, p).unwrap();
}
