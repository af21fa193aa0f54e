//! The memory a run may touch: a small, fixed table of regions.
//!
//! The program sees host addresses as plain 64-bit numbers (as rbpf does:
//! r1 is the context's address, r10 the top of the stack frame). Every
//! access is resolved through this table: the whole range must lie inside
//! one region, and stores need a writable one. Regions are borrowed slices
//! (`&'a [u8]` / `&'a mut [u8]`), so all accesses go through safe slice
//! operations; the borrow checker guarantees no region aliases a writable
//! one, and that every region outlives the run.
//!
//! Region 0 is always the eBPF stack (writable). The embedder adds the
//! context and other buffers before the run; helpers may add more during
//! the run (e.g. a scratch buffer), up to [`MAX_REGIONS`] in total.
//!
//! Two address modes, chosen when the table is created:
//! - [`Memory::new`]: the program sees host addresses (rbpf's model, used by
//!   the differential tests).
//! - [`Memory::with_virtual_addresses`]: region `i` appears at
//!   `(i + 1) << 32`, so a program never learns a host address (no kernel
//!   pointer can leak into its output). Recommended in the kernel. Regions
//!   must then be smaller than 4 GiB. Translation costs the same as in host
//!   mode: an access is always resolved as (region, offset).

use super::error::HelperError;

/// Bytes of stack per call frame (as in Linux).
pub const FRAME_SIZE: usize = 512;
/// Maximum call depth, counting the main program's frame (as in Linux).
pub const MAX_FRAMES: usize = 8;
/// Stack bytes needed for the full call depth.
pub const STACK_SIZE: usize = FRAME_SIZE * MAX_FRAMES;
/// Maximum number of regions, the stack included.
pub const MAX_REGIONS: usize = 16;

/// A region's bytes. (An unused slot is an empty read-only region: with
/// two variants of the same layout, getting the bytes needs no branch.)
enum Data<'a> {
    Ro(&'a [u8]),
    Rw(&'a mut [u8]),
}

struct Slot<'a> {
    /// Host address of the first byte, as the program sees it.
    start: u64,
    /// Always `data`'s length (kept as u64 for the address arithmetic).
    len: u64,
    data: Data<'a>,
}

impl<'a> Slot<'a> {
    const EMPTY: Slot<'static> = Slot { start: 0, len: 0, data: Data::Ro(&[]) };

    /// Offset of `[addr, addr + len)` inside this region, if it fits.
    #[inline(always)]
    fn offset(&self, addr: u64, len: u64) -> Option<usize> {
        let off = addr.wrapping_sub(self.start);
        if off < self.len && self.len - off >= len {
            Some(off as usize)
        } else {
            None
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Ro(d) => d,
            Data::Rw(d) => d,
        }
    }

    /// The N bytes at `addr`, if they lie inside this region. As
    /// [`Slot::offset`] plus the slice, but one bounds check: `len` is the
    /// slice's length, so `off < len` keeps `off + N` from overflowing and
    /// `get` does the rest.
    #[inline(always)]
    fn load<const N: usize>(&self, addr: u64) -> Option<[u8; N]> {
        let off = addr.wrapping_sub(self.start);
        if off < self.len {
            let off = off as usize;
            return self.bytes().get(off..off + N)?.try_into().ok();
        }
        None
    }
}

/// The region table of one run. See the module documentation.
pub struct Memory<'a> {
    slots: [Slot<'a>; MAX_REGIONS],
    count: usize,
    stack_top: u64,
    frames: usize,
    virtual_addresses: bool,
}

/// Distance between region bases in virtual address mode.
pub const VIRTUAL_REGION_SPAN: u64 = 1 << 32;

impl<'a> Memory<'a> {
    /// A table holding only the stack. Give it [`STACK_SIZE`] bytes for the
    /// full call depth; a smaller stack allows `len / FRAME_SIZE` frames (at
    /// least the main frame, whose accesses are still bounds-checked). The
    /// caller owns the memory so no 4 KiB array lives on the kernel stack.
    pub fn new(stack: &'a mut [u8]) -> Memory<'a> {
        Self::create(stack, false)
    }

    /// Like [`Memory::new`], but the program sees virtual addresses: region
    /// `i` (the stack is region 0) starts at `(i + 1) << 32`. A stack of
    /// 4 GiB or more is cut to its first 4 GiB - 1 bytes' worth of frames.
    pub fn with_virtual_addresses(stack: &'a mut [u8]) -> Memory<'a> {
        Self::create(stack, true)
    }

    fn create(stack: &'a mut [u8], virtual_addresses: bool) -> Memory<'a> {
        let mut len = stack.len() as u64;
        let start = if virtual_addresses {
            len = len.min(VIRTUAL_REGION_SPAN - 1);
            VIRTUAL_REGION_SPAN
        } else {
            stack.as_ptr() as u64
        };
        // The slot's length is always its slice's length.
        let stack = match stack.split_at_mut_checked(len as usize) {
            Some((head, _)) => head,
            None => &mut [],
        };
        let frames = (len as usize / FRAME_SIZE).clamp(1, MAX_FRAMES);
        let mut slots = [Slot::EMPTY; MAX_REGIONS];
        slots[0] = Slot { start, len, data: Data::Rw(stack) };
        Memory { slots, count: 1, stack_top: start.wrapping_add(len), frames, virtual_addresses }
    }

    /// Whether the program sees virtual rather than host addresses.
    pub fn virtual_addresses(&self) -> bool {
        self.virtual_addresses
    }

    /// Address one past the end of the stack: r10 of the main frame.
    pub fn stack_top(&self) -> u64 {
        self.stack_top
    }

    /// Number of call frames the stack has room for (1..=MAX_FRAMES).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Number of regions in use, the stack included.
    pub fn region_count(&self) -> usize {
        self.count
    }

    /// Clears the stack (so no run sees data of an earlier one).
    pub fn zero_stack(&mut self) {
        if let Some(Slot { data: Data::Rw(d), .. }) = self.slots.first_mut() {
            d.fill(0);
        }
    }

    fn push(&mut self, host: u64, len: usize, data: Data<'a>) -> Result<u64, HelperError> {
        let index = self.count;
        let len = len as u64;
        let start = if self.virtual_addresses {
            if len >= VIRTUAL_REGION_SPAN {
                return Err(HelperError::INVALID);
            }
            (index as u64 + 1) * VIRTUAL_REGION_SPAN
        } else {
            host
        };
        let entry = self.slots.get_mut(index).ok_or(HelperError::TOO_MANY_REGIONS)?;
        *entry = Slot { start, len, data };
        self.count += 1;
        Ok(start)
    }

    /// Lets the program read `data` for the rest of the run; returns the
    /// address the program sees.
    pub fn add_readonly(&mut self, data: &'a [u8]) -> Result<u64, HelperError> {
        self.push(data.as_ptr() as u64, data.len(), Data::Ro(data))
    }

    /// Lets the program read and write `data` for the rest of the run;
    /// returns the address the program sees.
    pub fn add_writable(&mut self, data: &'a mut [u8]) -> Result<u64, HelperError> {
        self.push(data.as_ptr() as u64, data.len(), Data::Rw(data))
    }

    /// The live regions.
    #[inline(always)]
    fn live(&self) -> &[Slot<'a>] {
        self.slots.get(..self.count).unwrap_or(&[])
    }

    /// Bytes `[addr, addr + len)` if they lie inside one region.
    #[inline]
    pub fn slice(&self, addr: u64, len: usize) -> Result<&[u8], HelperError> {
        for slot in self.live() {
            if let Some(off) = slot.offset(addr, len as u64) {
                return slot.bytes().get(off..off + len).ok_or(HelperError::FAULT);
            }
        }
        Err(HelperError::FAULT)
    }

    /// Bytes `[addr, addr + len)` if they lie inside one writable region.
    #[inline]
    pub fn slice_mut(&mut self, addr: u64, len: usize) -> Result<&mut [u8], HelperError> {
        let count = self.count;
        for slot in self.slots.iter_mut().take(count) {
            if let Some(off) = slot.offset(addr, len as u64) {
                return match &mut slot.data {
                    Data::Rw(d) => d.get_mut(off..off + len).ok_or(HelperError::FAULT),
                    _ => Err(HelperError::FAULT),
                };
            }
        }
        Err(HelperError::FAULT)
    }

    /// Copies VM memory at `addr` into `out`.
    pub fn read(&self, addr: u64, out: &mut [u8]) -> Result<(), HelperError> {
        let src = self.slice(addr, out.len())?;
        out.copy_from_slice(src);
        Ok(())
    }

    /// Copies `data` into writable VM memory at `addr`.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), HelperError> {
        let dst = self.slice_mut(addr, data.len())?;
        dst.copy_from_slice(data);
        Ok(())
    }

    /// Length of the stack region in bytes (r10 of the main frame is this
    /// far above its start).
    #[inline(always)]
    pub(super) fn stack_len(&self) -> usize {
        self.slots[0].len as usize
    }

    /// Index of the first live region that starts at `addr` (how the
    /// pre-decoded interpreter finds the context once per run).
    pub(super) fn region_starting_at(&self, addr: u64) -> Option<usize> {
        self.live().iter().position(|s| s.start == addr && s.len > 0)
    }

    /// An N-byte load at offset `off` of region `region` (the stack is
    /// region 0), bounds-checked, without searching the table. Unused slots
    /// are empty, so they need no check against the count.
    #[inline(always)]
    pub(super) fn region_load<const N: usize>(&self, region: usize, off: usize) -> Option<[u8; N]> {
        let slot = self.slots.get(region)?;
        if off < slot.len as usize {
            return slot.bytes().get(off..off + N)?.try_into().ok();
        }
        None
    }

    /// An N-byte writable location at offset `off` of region `region`, if
    /// it is writable and the range fits.
    #[inline(always)]
    pub(super) fn region_place<const N: usize>(&mut self, region: usize, off: usize) -> Option<&mut [u8; N]> {
        let slot = self.slots.get_mut(region)?;
        if off < slot.len as usize {
            if let Data::Rw(d) = &mut slot.data {
                return d.get_mut(off..off + N)?.try_into().ok();
            }
        }
        None
    }

    /// [`Memory::load`] that tries region `*hint` first and remembers the
    /// region that held the address. Same result as the search in table
    /// order: regions that overlap (host mode only) are read-only views of
    /// the same bytes, as a writable region is an exclusive borrow.
    #[inline(always)]
    pub(super) fn load_hinted<const N: usize>(&self, addr: u64, hint: &mut usize) -> Option<[u8; N]> {
        // Unused slots are empty and never match: no need to compare the
        // hint with the count.
        if let Some(b) = self.slots.get(*hint).and_then(|s| s.load::<N>(addr)) {
            return Some(b);
        }
        for (i, slot) in self.live().iter().enumerate() {
            if let Some(b) = slot.load::<N>(addr) {
                *hint = i;
                return Some(b);
            }
        }
        None
    }

    /// [`Memory::place`] with a region hint, as [`Memory::load_hinted`].
    #[inline(always)]
    pub(super) fn place_hinted<const N: usize>(&mut self, addr: u64, hint: &mut usize) -> Option<&mut [u8; N]> {
        let fits = |s: &Slot<'a>| s.offset(addr, N as u64).is_some();
        let i = match self.slots.get(*hint) {
            Some(s) if fits(s) => *hint,
            _ => self.live().iter().position(fits)?,
        };
        *hint = i;
        let slot = self.slots.get_mut(i)?;
        let off = addr.wrapping_sub(slot.start) as usize;
        match &mut slot.data {
            // `off < len` was checked by `fits`.
            Data::Rw(d) => d.get_mut(off..off.wrapping_add(N))?.try_into().ok(),
            Data::Ro(_) => None,
        }
    }

    /// An N-byte load for the interpreter.
    #[inline(always)]
    pub(super) fn load<const N: usize>(&self, addr: u64) -> Option<[u8; N]> {
        for slot in self.live() {
            if let Some(off) = slot.offset(addr, N as u64) {
                let bytes = slot.bytes().get(off..off.wrapping_add(N))?;
                return bytes.try_into().ok();
            }
        }
        None
    }

    /// An N-byte writable location for stores and atomics.
    #[inline(always)]
    pub(super) fn place<const N: usize>(&mut self, addr: u64) -> Option<&mut [u8; N]> {
        let count = self.count;
        for slot in self.slots.iter_mut().take(count) {
            if let Some(off) = slot.offset(addr, N as u64) {
                return match &mut slot.data {
                    Data::Rw(d) => d.get_mut(off..off.wrapping_add(N))?.try_into().ok(),
                    _ => None,
                };
            }
        }
        None
    }
}
