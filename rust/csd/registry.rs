//! Loaded programs by id, and per-process attachments.
//!
//! No locking inside: the kernel glue keeps one [`Registry`] per mount (or
//! per module) behind a mutex. Everything is bounded: [`MAX_PROGRAMS`]
//! programs of at most [`MAX_PROG_BYTES`] bytes, [`MAX_ATTACHMENTS`]
//! attachments.
//!
//! Ids count up from 1 and wrap past `u32::MAX` (skipping 0 and live ids),
//! so an id is not reused until four billion loads later: a stale id names
//! nothing rather than someone else's program.
//!
//! A program belongs to the user that loaded it ([`Caller`]): only that
//! user or an administrator (CAP_SYS_ADMIN) may unload it, and each user
//! may hold at most [`MAX_PROGRAMS_PER_USER`] of the [`MAX_PROGRAMS`], so
//! one user cannot take every slot.
//!
//! Attachments are keyed by [`AttachKey`] `(owner, object)`: the owner is a
//! process ([`Owner`]: its id and start time, so a recycled process id is a
//! different owner), the object what the glue chooses (the inode number).
//! An attachment ends when its process exits: the glue cannot be told of
//! every exit, so [`Registry::end_exited`] drops the attachments of owners
//! that are gone, and the registry calls it (through the glue's liveness
//! test) before anything that a stale attachment could get in the way of:
//! attaching (the table's bound) and unloading (`EBUSY`).

use super::abi::{HELPER_IDS, MAX_ATTACHMENTS, MAX_PROGRAMS, MAX_PROGRAMS_PER_USER, MAX_PROG_BYTES};
use super::ebpf::opcode::INSN_SIZE;
use super::ebpf::{translate, verify, Decoded, Op, Program, VerifyConfig};
use super::error::{CsdError, CsdResult, Detail};
use super::fluffle::errno::{E2BIG, EBUSY, EDQUOT, EINVAL, ENOENT, ENOSPC, EPERM};
use super::fluffle::mem::FVec;

/// The verifier configuration of CSD kernels.
pub fn verify_config() -> VerifyConfig<'static> {
    VerifyConfig { max_insns: MAX_PROG_BYTES as usize / INSN_SIZE, helper_ids: HELPER_IDS }
}

/// Verifies `code` with entry instruction `entry` as a CSD kernel:
/// `E2BIG` if too large, `EINVAL` (with the verifier's reason) if rejected.
pub fn verify_kernel(code: &[u8], entry: usize) -> CsdResult<Program<'_>> {
    if code.len() > MAX_PROG_BYTES as usize {
        return Err(CsdError::msg(E2BIG, "program too large"));
    }
    verify(code, entry, &verify_config()).map_err(|v| CsdError { errno: EINVAL, detail: Detail::Verify(v) })
}

/// The pre-decoded ops of a verified kernel, in a fresh allocation
/// (`ENOMEM` if it fails).
pub fn decode_kernel(prog: &Program<'_>) -> CsdResult<FVec<Op>> {
    let mut ops = FVec::try_from_elem(Op::INVALID, prog.len())?;
    // The buffer has exactly prog.len() ops, so this cannot fail.
    translate(prog, &mut ops).map_err(|_| CsdError::msg(EINVAL, "op buffer too small"))?;
    Ok(ops)
}

/// A loaded program: a verified copy of the bytes and their pre-decoded
/// form (16 bytes per instruction slot), translated once at load.
pub struct LoadedProgram {
    id: u32,
    owner_uid: u32,
    code: FVec<u8>,
    ops: FVec<Op>,
    entry: usize,
}

impl LoadedProgram {
    /// Its id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The user that loaded it.
    pub fn owner_uid(&self) -> u32 {
        self.owner_uid
    }

    /// The instruction bytes.
    pub fn code(&self) -> &[u8] {
        &self.code
    }

    /// The entry instruction index.
    pub fn entry(&self) -> usize {
        self.entry
    }

    /// The runnable program: the ops translated at load (never fails;
    /// the `Result` is kept for callers written when this re-verified).
    pub fn program(&self) -> CsdResult<Decoded<'_>> {
        Ok(Decoded::reuse(&self.ops, self.entry))
    }

    /// A copy, so the glue can run it after dropping the registry lock.
    pub fn try_clone(&self) -> CsdResult<LoadedProgram> {
        Ok(LoadedProgram { id: self.id, owner_uid: self.owner_uid, code: self.code.try_clone()?, ops: self.ops.try_clone()?, entry: self.entry })
    }
}

/// Which stream an attachment is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Reads return the kernel's output.
    Read,
    /// Writes store the kernel's output.
    Write,
}

/// Who asks the registry for something: a user id (the effective uid in
/// the initial user namespace) and whether it holds CAP_SYS_ADMIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user.
    pub uid: u32,
    /// May unload anyone's program.
    pub admin: bool,
}

impl Caller {
    /// Root with CAP_SYS_ADMIN (tools and tests acting for the system).
    pub const ROOT: Caller = Caller { uid: 0, admin: true };
}

/// The process an attachment belongs to: its id and its start time, so
/// that a later process given the same id is another owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Process (thread group) id.
    pub pid: u32,
    /// When it started (the glue's clock; only compared for equality).
    pub start: u64,
}

/// Attachment key: a process and an object of the glue's choosing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttachKey {
    /// Who attached.
    pub owner: Owner,
    /// To what (e.g. inode number).
    pub object: u64,
}

/// The kernels attached under one key (0 = none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attachment {
    /// Read-stream kernel id, 0 if none.
    pub read: u32,
    /// Write-stream kernel id, 0 if none.
    pub write: u32,
}

/// Programs and attachments. See the module documentation.
pub struct Registry {
    progs: FVec<LoadedProgram>,
    attached: FVec<(AttachKey, Attachment)>,
    next_id: u32,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry; allocates nothing.
    pub const fn new() -> Self {
        Registry { progs: FVec::new(), attached: FVec::new(), next_id: 1 }
    }

    /// Number of loaded programs.
    pub fn program_count(&self) -> usize {
        self.progs.len()
    }

    /// Number of attachment keys in use.
    pub fn attachment_count(&self) -> usize {
        self.attached.len()
    }

    fn fresh_id(&mut self) -> u32 {
        loop {
            let id = self.next_id;
            self.next_id = match self.next_id.wrapping_add(1) {
                0 => 1,
                n => n,
            };
            if !self.progs.iter().any(|p| p.id == id) {
                return id;
            }
        }
    }

    /// Verifies `code` (entry instruction `entry`) and stores a copy owned
    /// by `by`; returns its id. `E2BIG` if too large, `EINVAL` with the
    /// verifier's reason if rejected, `ENOSPC` if [`MAX_PROGRAMS`] are
    /// loaded, `EDQUOT` if the user already holds
    /// [`MAX_PROGRAMS_PER_USER`] (administrators are bound by the total
    /// only), `ENOMEM` if the copy cannot be allocated.
    pub fn load(&mut self, by: Caller, code: &[u8], entry: usize) -> CsdResult<u32> {
        let prog = verify_kernel(code, entry)?;
        if self.progs.len() >= MAX_PROGRAMS as usize {
            return Err(CsdError::msg(ENOSPC, "too many CSD programs loaded"));
        }
        if !by.admin && self.programs_of(by.uid) >= MAX_PROGRAMS_PER_USER as usize {
            return Err(CsdError::msg(EDQUOT, "this user has too many CSD programs loaded"));
        }
        let mut copy = FVec::try_with_capacity(code.len())?;
        copy.try_extend_from_slice(code)?;
        let ops = decode_kernel(&prog)?;
        self.progs.try_reserve(1)?;
        let id = self.fresh_id();
        self.progs.try_push(LoadedProgram { id, owner_uid: by.uid, code: copy, ops, entry })?;
        Ok(id)
    }

    /// The program with `id` (`ENOENT` if none).
    pub fn get(&self, id: u32) -> CsdResult<&LoadedProgram> {
        self.progs.iter().find(|p| p.id == id).ok_or(CsdError::msg(ENOENT, "no CSD program with that id"))
    }

    /// Number of programs `uid` has loaded.
    pub fn programs_of(&self, uid: u32) -> usize {
        self.progs.iter().filter(|p| p.owner_uid == uid).count()
    }

    /// Removes program `id` for `by`: `ENOENT` if unknown, `EPERM` unless
    /// `by` loaded it or is an administrator, `EBUSY` while a live process
    /// has it attached (`alive` tells; see [`Registry::end_exited`]).
    pub fn unload(&mut self, by: Caller, id: u32, alive: impl FnMut(Owner) -> bool) -> CsdResult<()> {
        let i = self.progs.iter().position(|p| p.id == id).ok_or(CsdError::msg(ENOENT, "no CSD program with that id"))?;
        if !by.admin && self.progs.get(i).map(|p| p.owner_uid) != Some(by.uid) {
            return Err(CsdError::msg(EPERM, "CSD program belongs to another user"));
        }
        self.end_exited(alive);
        if self.attached.iter().any(|(_, a)| a.read == id || a.write == id) {
            return Err(CsdError::msg(EBUSY, "CSD program is attached"));
        }
        self.progs.remove(i);
        Ok(())
    }

    /// Attaches program `id` as the `stream` kernel under `key`, replacing
    /// any earlier one (`ENOENT` if the program is unknown, `ENOSPC` if the
    /// table is full of attachments of live processes; `alive` tells which
    /// are, see [`Registry::end_exited`]).
    pub fn attach(&mut self, key: AttachKey, stream: Stream, id: u32, alive: impl FnMut(Owner) -> bool) -> CsdResult<()> {
        self.get(id)?;
        let i = match self.attached.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                if self.attached.len() >= MAX_ATTACHMENTS as usize {
                    self.end_exited(alive);
                }
                if self.attached.len() >= MAX_ATTACHMENTS as usize {
                    return Err(CsdError::msg(ENOSPC, "too many CSD attachments"));
                }
                self.attached.try_push((key, Attachment::default()))?;
                self.attached.len() - 1
            }
        };
        if let Some((_, a)) = self.attached.get_mut(i) {
            match stream {
                Stream::Read => a.read = id,
                Stream::Write => a.write = id,
            }
        }
        Ok(())
    }

    /// The kernels attached under `key` (both 0 if none).
    pub fn attachment(&self, key: AttachKey) -> Attachment {
        self.attached.iter().find(|(k, _)| *k == key).map_or(Attachment::default(), |(_, a)| *a)
    }

    /// Detaches the `stream` kernel under `key` (`ENOENT`, as `ENODATA`
    /// would be for xattrs, if none was attached).
    pub fn detach(&mut self, key: AttachKey, stream: Stream) -> CsdResult<()> {
        let i = self.attached.iter().position(|(k, _)| *k == key).ok_or(CsdError::from(ENOENT))?;
        let empty = match self.attached.get_mut(i) {
            Some((_, a)) => {
                let slot = match stream {
                    Stream::Read => &mut a.read,
                    Stream::Write => &mut a.write,
                };
                if *slot == 0 {
                    return Err(CsdError::from(ENOENT));
                }
                *slot = 0;
                a.read == 0 && a.write == 0
            }
            None => false,
        };
        if empty {
            self.attached.swap_remove(i);
        }
        Ok(())
    }

    /// Removes every attachment of `owner` (process exit or file close);
    /// returns how many keys were removed.
    pub fn detach_owner(&mut self, owner: Owner) -> usize {
        let before = self.attached.len();
        self.attached.retain(|(k, _)| k.owner != owner);
        before - self.attached.len()
    }

    /// Ends the attachments of every owner `alive` says has exited;
    /// returns how many keys were removed. One liveness test per distinct
    /// owner would be cheaper, but the table is small (bounded) and this
    /// runs only before attaching to a full table or unloading.
    pub fn end_exited(&mut self, mut alive: impl FnMut(Owner) -> bool) -> usize {
        let before = self.attached.len();
        self.attached.retain(|(k, _)| alive(k.owner));
        before - self.attached.len()
    }

    /// Removes every attachment under exactly `key`.
    pub fn detach_key(&mut self, key: AttachKey) -> bool {
        let before = self.attached.len();
        self.attached.retain(|(k, _)| *k != key);
        before != self.attached.len()
    }
}
