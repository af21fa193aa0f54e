//! Extracts an eBPF program from a relocatable ELF object, as produced by
//! `clang -target bpf -O2 -c`. No allocation, every offset bounds-checked.
//!
//! The program is the bytes of one executable section (chosen by name, by
//! the section of a named function, or the first non-empty executable
//! section) plus the entry instruction (the named function's offset, else
//! 0). The bytes are returned borrowed from the ELF buffer.
//!
//! Relocations against that section are honoured only where no linking is
//! needed: calls to functions in the same section (clang emits
//! `R_BPF_64_32` for calls to non-static functions, even within a section),
//! which are patched in place into relative local calls. Anything else,
//! e.g. an LDDW of a global variable or string constant (data sections),
//! a map, or a call into another section, is refused with a clear error:
//! put every function of a program in one section (`static` functions in
//! the same file and section need no relocation at all) and keep constants
//! on the stack.

use super::opcode::{Insn, CALL, CALL_LOCAL, INSN_SIZE};
use core::fmt;

/// Why the ELF could not yield a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Not a 64-bit little-endian ELF file.
    NotElf64Le,
    /// The machine is not EM_BPF (247).
    NotBpf,
    /// A header, table or string lies outside the file or is malformed.
    Malformed,
    /// No section with the requested name.
    NoSuchSection,
    /// The chosen section is not executable PROGBITS or is empty.
    NotExecutable,
    /// No function symbol with the requested name.
    NoSuchFunction,
    /// The named function is not in the chosen section.
    FunctionNotInSection,
    /// A relocation needs linking (data, maps, another section): unsupported.
    UnsupportedRelocation,
    /// A call relocation targets a function in another section.
    CallIntoOtherSection,
    /// The function or call target is not at an instruction boundary.
    Misaligned,
    /// The caller passed a read-only buffer but the section has
    /// relocations that need patching (use [`extract_program_mut`]).
    NeedsPatching,
}

impl ElfError {
    /// A fixed human-readable description.
    pub fn describe(&self) -> &'static str {
        match self {
            ElfError::NotElf64Le => "not a 64-bit little-endian ELF file",
            ElfError::NotBpf => "ELF machine is not BPF",
            ElfError::Malformed => "malformed ELF (offsets or sizes outside the file)",
            ElfError::NoSuchSection => "no section with that name",
            ElfError::NotExecutable => "section is not executable code or is empty",
            ElfError::NoSuchFunction => "no function symbol with that name",
            ElfError::FunctionNotInSection => "function is not in the chosen section",
            ElfError::UnsupportedRelocation => {
                "relocation cannot be honoured (global data, string constants, maps): keep data on the stack"
            }
            ElfError::CallIntoOtherSection => {
                "call into another section cannot be linked: put all functions of the program in one section"
            }
            ElfError::Misaligned => "symbol or call target not at an instruction boundary",
            ElfError::NeedsPatching => "section has call relocations: extract from a mutable buffer",
        }
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Which program to take from the object.
#[derive(Clone, Copy, Debug, Default)]
pub struct Selector<'n> {
    /// Section name (e.g. `"csd"` or `".text"`).
    pub section: Option<&'n str>,
    /// Entry function name; also selects its section if `section` is None.
    pub function: Option<&'n str>,
}

/// An extracted program.
#[derive(Clone, Copy, Debug)]
pub struct ElfProgram<'e> {
    /// The section's instruction bytes.
    pub code: &'e [u8],
    /// Entry instruction index inside `code`.
    pub entry: usize,
}

const EM_BPF: u16 = 247;
const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_RELA: u32 = 4;
const SHT_REL: u32 = 9;
const SHF_EXECINSTR: u64 = 0x4;
const STT_FUNC: u8 = 2;
const STT_SECTION: u8 = 3;
const R_BPF_NONE: u32 = 0;
const R_BPF_64_32: u32 = 10;
const SHDR_SIZE: usize = 64;
const SYM_SIZE: usize = 24;

fn bytes<const N: usize>(b: &[u8], off: usize) -> Result<[u8; N], ElfError> {
    let end = off.checked_add(N).ok_or(ElfError::Malformed)?;
    let s = b.get(off..end).ok_or(ElfError::Malformed)?;
    s.try_into().map_err(|_| ElfError::Malformed)
}
fn u16_at(b: &[u8], off: usize) -> Result<u16, ElfError> {
    Ok(u16::from_le_bytes(bytes(b, off)?))
}
fn u32_at(b: &[u8], off: usize) -> Result<u32, ElfError> {
    Ok(u32::from_le_bytes(bytes(b, off)?))
}
fn u64_at(b: &[u8], off: usize) -> Result<u64, ElfError> {
    Ok(u64::from_le_bytes(bytes(b, off)?))
}
fn usize_of(v: u64) -> Result<usize, ElfError> {
    usize::try_from(v).map_err(|_| ElfError::Malformed)
}

#[derive(Clone, Copy)]
struct Shdr {
    name: u32,
    kind: u32,
    flags: u64,
    offset: usize,
    size: usize,
    link: u32,
    info: u32,
    entsize: usize,
}

struct Elf<'e> {
    b: &'e [u8],
    shoff: usize,
    shnum: usize,
    shstrndx: usize,
}

impl<'e> Elf<'e> {
    fn parse(b: &'e [u8]) -> Result<Self, ElfError> {
        let ident: [u8; 7] = bytes(b, 0).map_err(|_| ElfError::NotElf64Le)?;
        if ident != [0x7f, b'E', b'L', b'F', 2, 1, 1] {
            return Err(ElfError::NotElf64Le);
        }
        if u16_at(b, 18)? != EM_BPF {
            return Err(ElfError::NotBpf);
        }
        let shoff = usize_of(u64_at(b, 40)?)?;
        if usize::from(u16_at(b, 58)?) != SHDR_SIZE {
            return Err(ElfError::Malformed);
        }
        let shnum = usize::from(u16_at(b, 60)?);
        let shstrndx = usize::from(u16_at(b, 62)?);
        let end = shnum.checked_mul(SHDR_SIZE).and_then(|n| n.checked_add(shoff)).ok_or(ElfError::Malformed)?;
        if end > b.len() || shstrndx >= shnum {
            return Err(ElfError::Malformed);
        }
        Ok(Elf { b, shoff, shnum, shstrndx })
    }

    fn shdr(&self, i: usize) -> Result<Shdr, ElfError> {
        if i >= self.shnum {
            return Err(ElfError::Malformed);
        }
        let o = self.shoff + i * SHDR_SIZE; // bounded by the check in parse
        Ok(Shdr {
            name: u32_at(self.b, o)?,
            kind: u32_at(self.b, o + 4)?,
            flags: u64_at(self.b, o + 8)?,
            offset: usize_of(u64_at(self.b, o + 24)?)?,
            size: usize_of(u64_at(self.b, o + 32)?)?,
            link: u32_at(self.b, o + 40)?,
            info: u32_at(self.b, o + 44)?,
            entsize: usize_of(u64_at(self.b, o + 56)?)?,
        })
    }

    /// The bytes of a section (not for NOBITS sections).
    fn data(&self, sh: &Shdr) -> Result<&'e [u8], ElfError> {
        let end = sh.offset.checked_add(sh.size).ok_or(ElfError::Malformed)?;
        self.b.get(sh.offset..end).ok_or(ElfError::Malformed)
    }

    /// NUL-terminated string at `off` of string table section `strtab`.
    fn string(&self, strtab: usize, off: u32) -> Result<&'e [u8], ElfError> {
        let sh = self.shdr(strtab)?;
        let table = self.data(&sh)?;
        let s = table.get(off as usize..).ok_or(ElfError::Malformed)?;
        let len = s.iter().position(|&c| c == 0).ok_or(ElfError::Malformed)?;
        s.get(..len).ok_or(ElfError::Malformed)
    }

    fn section_name(&self, sh: &Shdr) -> Result<&'e [u8], ElfError> {
        self.string(self.shstrndx, sh.name)
    }

    fn symtab(&self) -> Result<Option<(usize, Shdr)>, ElfError> {
        for i in 0..self.shnum {
            let sh = self.shdr(i)?;
            if sh.kind == SHT_SYMTAB {
                return Ok(Some((i, sh)));
            }
        }
        Ok(None)
    }
}

#[derive(Clone, Copy)]
struct Sym {
    name: u32,
    kind: u8,
    shndx: usize,
    value: u64,
}

fn symbol(elf: &Elf<'_>, symtab: &Shdr, i: usize) -> Result<Sym, ElfError> {
    let data = elf.data(symtab)?;
    let o = i.checked_mul(SYM_SIZE).ok_or(ElfError::Malformed)?;
    Ok(Sym {
        name: u32_at(data, o)?,
        kind: bytes::<1>(data, o + 4)?[0] & 0xf,
        shndx: usize::from(u16_at(data, o + 6)?),
        value: u64_at(data, o + 8)?,
    })
}

fn is_code(sh: &Shdr) -> bool {
    sh.kind == SHT_PROGBITS && sh.flags & SHF_EXECINSTR != 0 && sh.size > 0
}

/// A call patch: the byte offset of the instruction's imm in the ELF and
/// the imm it must hold.
#[derive(Clone, Copy)]
struct Patch {
    at: usize,
    imm: i32,
    current: i32,
    /// Byte offset in the ELF of the relocation's `r_info`.
    info_at: usize,
}

/// The chosen section and entry.
#[derive(Clone, Copy)]
struct Found {
    index: usize,
    sh: Shdr,
    entry: usize,
}

fn find(elf: &Elf<'_>, sel: &Selector<'_>) -> Result<Found, ElfError> {
    let symtab = elf.symtab()?;
    // The entry function, if named.
    let mut func: Option<Sym> = None;
    if let Some(name) = sel.function {
        let (_, st) = symtab.ok_or(ElfError::NoSuchFunction)?;
        for i in 0..st.size / SYM_SIZE {
            let s = symbol(elf, &st, i)?;
            if s.kind == STT_FUNC && elf.string(st.link as usize, s.name)? == name.as_bytes() {
                func = Some(s);
                break;
            }
        }
        if func.is_none() {
            return Err(ElfError::NoSuchFunction);
        }
    }
    let mut index = None;
    for i in 0..elf.shnum {
        let sh = elf.shdr(i)?;
        let wanted = match (sel.section, func) {
            (Some(name), _) => elf.section_name(&sh)? == name.as_bytes(),
            (None, Some(f)) => i == f.shndx,
            (None, None) => is_code(&sh),
        };
        if wanted {
            index = Some(i);
            break;
        }
    }
    let index = index.ok_or(ElfError::NoSuchSection)?;
    let sh = elf.shdr(index)?;
    if !is_code(&sh) || sh.size % INSN_SIZE != 0 {
        return Err(ElfError::NotExecutable);
    }
    elf.data(&sh)?;
    let entry = match func {
        Some(f) if f.shndx != index => return Err(ElfError::FunctionNotInSection),
        Some(f) => {
            if f.value % INSN_SIZE as u64 != 0 || f.value >= sh.size as u64 {
                return Err(ElfError::Misaligned);
            }
            usize_of(f.value)? / INSN_SIZE
        }
        None => 0,
    };
    Ok(Found { index, sh, entry })
}

/// Calls `f(k, patch)` for every relocation `k` against the section (or
/// only relocation `only`), in order, after checking it can be honoured.
fn relocations(
    elf: &Elf<'_>,
    found: &Found,
    only: Option<usize>,
    f: &mut dyn FnMut(usize, Patch) -> Result<(), ElfError>,
) -> Result<(), ElfError> {
    let code = elf.data(&found.sh)?;
    let n_insns = (found.sh.size / INSN_SIZE) as i64;
    let mut k = 0usize;
    for ri in 0..elf.shnum {
        let rs = elf.shdr(ri)?;
        if !(rs.kind == SHT_REL || rs.kind == SHT_RELA) || rs.info as usize != found.index {
            continue;
        }
        let entsize = if rs.kind == SHT_REL { 16 } else { 24 };
        if rs.entsize != entsize {
            return Err(ElfError::Malformed);
        }
        let st = elf.shdr(rs.link as usize)?;
        if st.kind != SHT_SYMTAB {
            return Err(ElfError::Malformed);
        }
        let rel = elf.data(&rs)?;
        for e in 0..rs.size / entsize {
            let this = k;
            k += 1;
            if only.is_some_and(|o| o != this) {
                continue;
            }
            let o = e * entsize;
            let r_offset = usize_of(u64_at(rel, o)?)?;
            let r_info = u64_at(rel, o + 8)?;
            if r_info as u32 == R_BPF_NONE {
                // Already applied by `extract_program_mut`.
                continue;
            }
            let sym = symbol(elf, &st, (r_info >> 32) as usize)?;
            if r_info as u32 != R_BPF_64_32 || r_offset % INSN_SIZE != 0 {
                return Err(ElfError::UnsupportedRelocation);
            }
            let insn = Insn::decode(&bytes::<INSN_SIZE>(code, r_offset)?);
            if insn.op != CALL || insn.src != CALL_LOCAL || !(sym.kind == STT_FUNC || sym.kind == STT_SECTION) {
                return Err(ElfError::UnsupportedRelocation);
            }
            if sym.shndx != found.index {
                return Err(ElfError::CallIntoOtherSection);
            }
            if sym.value % INSN_SIZE as u64 != 0 || sym.value >= found.sh.size as u64 {
                return Err(ElfError::Misaligned);
            }
            // libbpf's rule: target slot = symbol slot + imm + 1.
            let target = (sym.value / INSN_SIZE as u64) as i64 + insn.imm as i64 + 1;
            let pc = (r_offset / INSN_SIZE) as i64;
            if target < 0 || target >= n_insns {
                return Err(ElfError::Misaligned);
            }
            let imm = i32::try_from(target - pc - 1).map_err(|_| ElfError::Malformed)?;
            let at = found.sh.offset.checked_add(r_offset).and_then(|a| a.checked_add(4)).ok_or(ElfError::Malformed)?;
            let info_at = rs.offset.checked_add(o + 8).ok_or(ElfError::Malformed)?;
            f(this, Patch { at, imm, current: insn.imm, info_at })?;
        }
    }
    Ok(())
}

fn program<'e>(elf: &'e [u8], found: &Found) -> Result<ElfProgram<'e>, ElfError> {
    let end = found.sh.offset.checked_add(found.sh.size).ok_or(ElfError::Malformed)?;
    let code = elf.get(found.sh.offset..end).ok_or(ElfError::Malformed)?;
    Ok(ElfProgram { code, entry: found.entry })
}

/// Extracts the program from a read-only ELF buffer. Fails with
/// [`ElfError::NeedsPatching`] if call relocations must be applied.
pub fn extract_program<'e>(elf: &'e [u8], sel: &Selector<'_>) -> Result<ElfProgram<'e>, ElfError> {
    let parsed = Elf::parse(elf)?;
    let found = find(&parsed, sel)?;
    relocations(&parsed, &found, None, &mut |_, p| if p.imm == p.current { Ok(()) } else { Err(ElfError::NeedsPatching) })?;
    program(elf, &found)
}

/// Extracts the program, first rewriting same-section call relocations in
/// place into plain relative local calls.
pub fn extract_program_mut<'e>(elf: &'e mut [u8], sel: &Selector<'_>) -> Result<ElfProgram<'e>, ElfError> {
    // Pass 1: everything is checked before anything is written.
    let (found, count) = {
        let parsed = Elf::parse(elf)?;
        let found = find(&parsed, sel)?;
        let mut count = 0usize;
        // Relocation numbers count every entry, applied ones included.
        relocations(&parsed, &found, None, &mut |k, _| {
            count = k + 1;
            Ok(())
        })?;
        (found, count)
    };
    // Pass 2: relocation k is recomputed from the buffer (so no storage is
    // needed), applied, and marked done. It only depends on its own
    // instruction, which no earlier patch touched in a well-formed object;
    // a malformed object can only yield a wrong program, which the verifier
    // then judges.
    for k in 0..count {
        let mut patch = None;
        {
            let parsed = Elf::parse(elf)?;
            relocations(&parsed, &found, Some(k), &mut |_, p| {
                patch = Some(p);
                Ok(())
            })?;
        }
        if let Some(p) = patch {
            let end = p.at.checked_add(4).ok_or(ElfError::Malformed)?;
            let dst = elf.get_mut(p.at..end).ok_or(ElfError::Malformed)?;
            dst.copy_from_slice(&p.imm.to_le_bytes());
            // Mark the relocation applied (type R_BPF_NONE) so extracting
            // again from the same buffer is idempotent.
            let end = p.info_at.checked_add(4).ok_or(ElfError::Malformed)?;
            let info = elf.get_mut(p.info_at..end).ok_or(ElfError::Malformed)?;
            info.copy_from_slice(&R_BPF_NONE.to_le_bytes());
        }
    }
    program(elf, &found)
}
