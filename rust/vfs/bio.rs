//! Bios over kernel memory: synchronous transfers for the core's device
//! calls, and asynchronous reads (readahead) and writes (writeback) of
//! page-cache folios.
//!
//! An asynchronous read is planned under the core's mutex and runs after
//! it is dropped. That is safe on a zoned device because a block only
//! changes when its zone is reset: an [`InflightIo`] counts the reads in
//! flight and the device waits for none before a reset. Asynchronous
//! writes of page-cache folios (writeback) are submitted under the mutex,
//! in write-pointer order, and the device lets them finish, and reports
//! their failure, before any other operation.

use super::shim;
use crate::fluffle::device::BLOCK_SIZE;
use crate::fluffle::errno::{Result, EINVAL, EIO, ENOMEM};
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use kernel::bindings;
use kernel::ffi::{c_uint, c_void};

/// `GFP_NOIO` (`__GFP_RECLAIM`: direct and kswapd reclaim, no I/O, no FS),
/// which bindgen cannot see because it is a macro of macros.
const GFP_NOIO: bindings::gfp_t =
    (1 << bindings::___GFP_DIRECT_RECLAIM_BIT) | (1 << bindings::___GFP_KSWAPD_RECLAIM_BIT);
/// Pages per bio (`BIO_MAX_VECS`).
const MAX_VECS: usize = 256;
pub(crate) const SECTORS_PER_BLOCK: u64 = (BLOCK_SIZE / 512) as u64;

/// Asynchronous bios of one kind in flight on one device, and whether
/// one of them ever failed.
pub(crate) struct InflightIo {
    count: AtomicI32,
    failed: AtomicBool,
}

impl InflightIo {
    pub(crate) fn new() -> Self {
        Self { count: AtomicI32::new(0), failed: AtomicBool::new(false) }
    }

    fn begin(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    fn end(&self, ok: bool) {
        if !ok {
            // Before the count drops, so a waiter that sees zero sees it.
            self.failed.store(true, Ordering::SeqCst);
        }
        // SeqCst (a locked instruction, a full barrier) orders the decrement
        // before `wake_up_var`'s check for waiters, as it requires.
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            // SAFETY: the address is only a wait-queue key.
            unsafe { bindings::wake_up_var(self.count.as_ptr().cast::<c_void>()) };
        }
    }

    /// Whether one of them ever failed (read without waiting, so callers
    /// outside the core's mutex can refuse changes at once).
    pub(crate) fn has_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Sleeps until none is in flight; `EIO` if one ever failed (a failed
    /// zone write leaves the write pointer unknown: nothing more may be
    /// trusted until fsck). The caller must keep new ones from starting
    /// (the core's mutex does: they are all started under it).
    pub(crate) fn settle(&self) -> Result<()> {
        // SAFETY: the counter is valid for the call; the shim sleeps until
        // it reads zero, woken by `end`.
        unsafe { shim::fluffle_wait_until_zero(self.count.as_ptr()) };
        if self.failed.load(Ordering::SeqCst) {
            Err(EIO)
        } else {
            Ok(())
        }
    }
}

/// Leave to read a device outside the core's mutex: until it is dropped
/// and every read it started has ended, no zone of the device is reset.
///
/// # Invariants
///
/// `bdev` is the device's open block device and `reads` its counter, both
/// valid until every folio read through this value has been unlocked
/// (unmount evicts the page cache, waiting for locked folios, before the
/// device goes); `reads` counts this value.
pub(crate) struct AsyncReader {
    bdev: *mut bindings::block_device,
    reads: *const InflightIo,
}

impl AsyncReader {
    /// Starts holding resets off.
    ///
    /// # Safety
    ///
    /// As the type invariants; call it under the core's mutex.
    pub(crate) unsafe fn new(bdev: *mut bindings::block_device, reads: &InflightIo) -> Self {
        reads.begin();
        Self { bdev, reads }
    }

    /// Reads `folios` (locked, not up to date, consecutive in their file,
    /// whole blocks each) from `lba` on, asynchronously: when its bio
    /// ends, each folio is marked up to date (unless the read failed) and
    /// unlocked. Returns how many folios were handed to bios; the caller
    /// unlocks the rest (only after a failure to build a bio).
    ///
    /// # Safety
    ///
    /// Every pointer in `folios` must be a locked folio of a FluffleFS
    /// file whose blocks are on the device from `lba` on (a plan made
    /// under the mutex this reader was created under).
    pub(crate) unsafe fn read_folios(&self, lba: u64, folios: &[*mut bindings::folio]) -> usize {
        let mut bio = BioBuilder::new(self.bdev, bindings::req_op_REQ_OP_READ, Some((self.reads, read_end_io)));
        // SAFETY: guaranteed by the caller (valid, locked folios).
        let parts = folios.iter().map(|&folio| unsafe { FolioPart::whole(folio) });
        // SAFETY: guaranteed by the caller.
        unsafe { add_parts(&mut bio, lba, parts) }
    }

    /// Reads whole blocks from `lba` on into `buf` (a CSD snapshot window,
    /// outside the core's mutex): every bio of the range is in flight at
    /// once (several MiB for a window), then it waits for all of them.
    ///
    /// # Safety
    ///
    /// The filesystem stays mounted for the call (the caller holds one of
    /// its files), `buf` is kmalloc or vmalloc memory (never the stack)
    /// and the blocks are ones the core keeps where they are while this
    /// reader lives (a snapshot's pinned blocks).
    pub(crate) unsafe fn read_into(&self, lba: u64, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() || buf.len() % BLOCK_SIZE != 0 {
            return Err(EINVAL);
        }
        let mut sector = lba.checked_mul(SECTORS_PER_BLOCK).ok_or(EINVAL)?;
        // Counts this call's bios only; it may live on the stack because
        // nothing returns before it is back to zero (`settle` below), and
        // the completions use its address only as a wait-queue key after
        // the last decrement.
        let batch = InflightIo::new();
        let mut bio = BioBuilder::new(self.bdev, bindings::req_op_REQ_OP_READ, Some((&batch, buffer_read_end_io)));
        let mut built = Ok(());
        for block in buf.chunks_exact_mut(BLOCK_SIZE) {
            built = bio.add_block(block.as_mut_ptr(), sector);
            if built.is_err() {
                break;
            }
            sector += SECTORS_PER_BLOCK;
        }
        let submitted = built.and_then(|()| bio.submit());
        // A bio left unsubmitted after an error is ended (failed) here.
        drop(bio);
        let settled = batch.settle();
        submitted.and(settled)
    }
}

/// `bi_end_io` of [`AsyncReader::read_into`]'s bios: the batch counter
/// drops, recording a failure.
unsafe extern "C" fn buffer_read_end_io(bio: *mut bindings::bio) {
    // SAFETY: the block layer passes our ended bio, whose `bi_private` is
    // the batch counter `read_into` waits on (alive until it reads zero).
    unsafe {
        let ok = (*bio).bi_status == bindings::BLK_STS_OK as bindings::blk_status_t;
        (*(*bio).bi_private.cast::<InflightIo>()).end(ok);
        bindings::bio_put(bio);
    }
}

impl Drop for AsyncReader {
    fn drop(&mut self) {
        // SAFETY: `reads` is valid and counts us (invariants).
        unsafe { (*self.reads).end(true) };
    }
}

/// `bi_end_io` of asynchronous folio reads.
unsafe extern "C" fn read_end_io(bio: *mut bindings::bio) {
    // SAFETY: the block layer passes our ended bio, whose `bi_private` is
    // the device's read counter. The count drops first: once the folios
    // are unlocked an unmount may free the device and its counter. A
    // failed read shows as folios not up to date, not as a device error.
    unsafe {
        (*(*bio).bi_private.cast::<InflightIo>()).end(true);
        shim::fluffle_bio_end_folio_reads(bio);
        bindings::bio_put(bio);
    }
}

/// `bi_end_io` of asynchronous folio writes (writeback).
unsafe extern "C" fn write_end_io(bio: *mut bindings::bio) {
    // SAFETY: the block layer passes our ended bio, whose `bi_private` is
    // the device's write counter. The count drops first (with the failure
    // recorded for the core): once writeback ends an unmount may free the
    // device. The folios' mapping records the error for fsync.
    unsafe {
        let ok = (*bio).bi_status == bindings::BLK_STS_OK as bindings::blk_status_t;
        (*(*bio).bi_private.cast::<InflightIo>()).end(ok);
        shim::fluffle_bio_end_folio_writes(bio);
        bindings::bio_put(bio);
    }
}

/// Blocks `from..to` of a folio (a large folio may be split between a
/// synchronous and an asynchronous write at a zone end).
#[derive(Clone, Copy)]
pub(crate) struct FolioPart {
    pub(crate) folio: *mut bindings::folio,
    pub(crate) from: usize,
    pub(crate) to: usize,
}

impl FolioPart {
    /// The whole folio.
    ///
    /// # Safety
    ///
    /// `folio` must be a valid folio.
    pub(crate) unsafe fn whole(folio: *mut bindings::folio) -> Self {
        // SAFETY: guaranteed by the caller.
        Self { folio, from: 0, to: unsafe { folio_blocks(folio) } }
    }
}

/// Blocks in `folio` (a folio is whole pages, and a page one block).
///
/// # Safety
///
/// `folio` must be a valid folio.
pub(crate) unsafe fn folio_blocks(folio: *mut bindings::folio) -> usize {
    // SAFETY: guaranteed by the caller.
    unsafe { shim::fluffle_folio_size(folio) / BLOCK_SIZE }
}

/// Writes `parts` (of folios under writeback, one after the other in the
/// log, each part the last of its folio) at `lba` asynchronously: when its
/// bio ends, each folio's writeback ends (with the error on its mapping if
/// the write failed). Returns how many parts were handed to bios; the
/// caller ends the writeback of the rest (only after a failure to build a
/// bio).
///
/// # Safety
///
/// `bdev` must be open and `writes` valid until every such bio ended;
/// call it under the core's mutex, `lba` being the zone's write pointer.
pub(crate) unsafe fn write_parts(
    bdev: *mut bindings::block_device,
    writes: &InflightIo,
    lba: u64,
    parts: &[FolioPart],
) -> usize {
    let mut bio = BioBuilder::new(bdev, bindings::req_op_REQ_OP_WRITE, Some((writes, write_end_io)));
    // SAFETY: guaranteed by the caller.
    unsafe { add_parts(&mut bio, lba, parts.iter().copied()) }
}

/// Adds `parts` to `bio` from `lba` on, each as one vector (so no folio
/// is split between two bios and its completion runs once), and submits
/// the last bio; returns how many were added before a failure.
///
/// # Safety
///
/// The folios must be locked (reads) or under writeback (writes), so their
/// memory stays ours until the bios end.
unsafe fn add_parts(bio: &mut BioBuilder, lba: u64, parts: impl Iterator<Item = FolioPart>) -> usize {
    let mut sector = lba * SECTORS_PER_BLOCK;
    let mut added = 0;
    for part in parts {
        let blocks = part.to.saturating_sub(part.from);
        // SAFETY: guaranteed by the caller.
        let r = unsafe { bio.add_folio_range(part.folio, part.from * BLOCK_SIZE, blocks * BLOCK_SIZE, sector) };
        if blocks == 0 || r.is_err() {
            // The parts before go in the bio submitted below; this one and
            // the rest stay the caller's.
            break;
        }
        added += 1;
        sector += blocks as u64 * SECTORS_PER_BLOCK;
    }
    // Asynchronous submission does not fail.
    let _ = bio.submit();
    added
}

/// The bio under construction for one transfer. A synchronous builder
/// submits a bio (and waits for it) when it is full or the transfer ends;
/// one bio of `BIO_MAX_VECS` pages carries the core's largest transfers
/// (1 MiB) whole, so waiting per bio costs no parallelism there. An
/// asynchronous one (folio reads and writes) submits without waiting, and
/// its completion finishes the folios.
///
/// # Invariants
///
/// `bio` is null or a bio allocated on `bdev` with `MAX_VECS` vectors, not
/// yet submitted, covering whole blocks between calls. `done` is `None`
/// (synchronous) or the counter, valid while any bio of ours is in
/// flight, and the completion that ends our bios.
pub(crate) struct BioBuilder {
    bio: *mut bindings::bio,
    bdev: *mut bindings::block_device,
    op: bindings::blk_opf_t,
    done: Option<(*const InflightIo, EndIo)>,
}

/// A bio completion.
type EndIo = unsafe extern "C" fn(*mut bindings::bio);

impl BioBuilder {
    /// A builder for `op` on `bdev`; `done` as the type's invariants.
    pub(crate) fn new(bdev: *mut bindings::block_device, op: bindings::blk_opf_t, done: Option<(*const InflightIo, EndIo)>) -> Self {
        Self { bio: core::ptr::null_mut(), bdev, op, done }
    }

    /// Adds bytes `off..off + len` of `folio` as one vector, to be
    /// transferred at `sector` (after the bio built so far, or in a new
    /// one).
    ///
    /// # Safety
    ///
    /// The folio's memory must stay ours until the bio ends.
    pub(crate) unsafe fn add_folio_range(&mut self, folio: *mut bindings::folio, off: usize, len: usize, sector: u64) -> Result<()> {
        // SAFETY: a non-null `bio` is ours and not yet submitted (invariant).
        if !self.bio.is_null() && unsafe { (*self.bio).bi_vcnt as usize } >= MAX_VECS {
            self.submit()?;
        }
        self.open(sector)?;
        // SAFETY: the bio is ours (invariant) with a free vector; the range
        // is the caller's.
        if unsafe { bindings::bio_add_folio(self.bio, folio, len, off) } {
            Ok(())
        } else {
            Err(EIO)
        }
    }

    /// Allocates the bio if there is none, starting at `sector`.
    fn open(&mut self, sector: u64) -> Result<()> {
        if !self.bio.is_null() {
            return Ok(());
        }
        // SAFETY: `bdev` is valid and `fs_bio_set` is the kernel's static
        // filesystem bio set. With GFP_NOIO the mempool allocation sleeps
        // rather than fails.
        let bio = unsafe {
            bindings::bio_alloc_bioset(
                self.bdev,
                MAX_VECS as u16,
                self.op,
                GFP_NOIO,
                core::ptr::addr_of_mut!(shim::fs_bio_set),
            )
        };
        if bio.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `bio` was just allocated and is ours until submitted.
        unsafe { (*bio).bi_iter.bi_sector = sector };
        self.bio = bio;
        Ok(())
    }

    /// Adds the block of memory at `addr` (which may cross a page
    /// boundary), to be transferred at `sector`.
    pub(crate) fn add_block(&mut self, addr: *mut u8, sector: u64) -> Result<()> {
        let page = kernel::page::PAGE_SIZE;
        // A block needs at most two vectors: submit when fewer are left, so
        // no bio ends inside a block.
        // SAFETY: a non-null `bio` is ours and not yet submitted (invariant).
        if !self.bio.is_null() && unsafe { (*self.bio).bi_vcnt as usize } + 2 > MAX_VECS {
            self.submit()?;
        }
        self.open(sector)?;
        let mut off = 0usize;
        while off < BLOCK_SIZE {
            // SAFETY: `addr + off` lies inside the caller's block.
            let at = unsafe { addr.add(off) };
            let in_page = (at as usize) % page;
            let n = core::cmp::min(page - in_page, BLOCK_SIZE - off);
            // SAFETY: `at` is a valid kernel address of a buffer the caller
            // keeps alive until the I/O completes: kmalloc or vmalloc memory
            // or a page-cache folio, never the stack.
            let pg = unsafe { shim::fluffle_buf_to_page(at.cast::<c_void>()) };
            // SAFETY: the bio is ours (invariant) and has at least two free
            // vectors (checked above).
            let added = unsafe { bindings::bio_add_page(self.bio, pg, n as c_uint, in_page as c_uint) };
            if added as usize != n {
                return Err(EIO);
            }
            off += n;
        }
        Ok(())
    }

    /// Submits the bio built so far (if any): waits for it when
    /// synchronous.
    pub(crate) fn submit(&mut self) -> Result<()> {
        let bio = core::mem::replace(&mut self.bio, core::ptr::null_mut());
        if bio.is_null() {
            return Ok(());
        }
        if let Some((inflight, end_io)) = self.done {
            // SAFETY: `bio` is complete and ours; from here `end_io` owns
            // it, and the counter outlives it (invariant).
            unsafe {
                (*inflight).begin();
                (*bio).bi_private = inflight as *mut c_void;
                (*bio).bi_end_io = Some(end_io);
                bindings::submit_bio(bio);
            }
            return Ok(());
        }
        // SAFETY: `bio` is complete and ours (invariant); `submit_bio_wait`
        // returns once the I/O completed, after which we drop our reference.
        let rc = unsafe {
            let rc = bindings::submit_bio_wait(bio);
            bindings::bio_put(bio);
            rc
        };
        if rc != 0 {
            Err(EIO)
        } else {
            Ok(())
        }
    }
}

impl Drop for BioBuilder {
    fn drop(&mut self) {
        let bio = core::mem::replace(&mut self.bio, core::ptr::null_mut());
        if bio.is_null() {
            return;
        }
        let Some((inflight, end_io)) = self.done else {
            // Left over after an error: never submitted, so just freed.
            // SAFETY: the bio is ours and unsubmitted (invariant).
            unsafe { bindings::bio_put(bio) };
            return;
        };
        // An asynchronous transfer that could not be completed: end it
        // failed, which finishes its folios through `end_io`.
        // SAFETY: as in `submit`; ending a bio we own without I/O is what
        // `bio_io_error` does.
        unsafe {
            (*inflight).begin();
            (*bio).bi_private = inflight as *mut c_void;
            (*bio).bi_end_io = Some(end_io);
            shim::fluffle_bio_io_error(bio);
        }
    }
}
