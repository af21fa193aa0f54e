//! Extended attributes (`user.` namespace), stored in the inode's node.

use super::errno::*;
use super::inode::{Inode, Xattr};
use super::mem::FVec;
use super::types::*;

const PREFIX: &[u8] = b"user.";

/// True for a storable name: `user.` plus 1.. more bytes, no NUL, at most
/// [`XATTR_NAME_MAX`] bytes.
pub fn valid_name(name: &[u8]) -> bool {
    name.len() > PREFIX.len() && name.len() <= XATTR_NAME_MAX && name.starts_with(PREFIX) && !name.contains(&0)
}

fn check(name: &[u8]) -> Result<()> {
    if name.len() > XATTR_NAME_MAX {
        return Err(ERANGE);
    }
    if !name.starts_with(PREFIX) {
        return Err(EOPNOTSUPP);
    }
    if !valid_name(name) {
        return Err(EINVAL);
    }
    Ok(())
}

impl Inode {
    fn xattr_index(&self, name: &[u8]) -> Option<usize> {
        self.xattrs().iter().position(|x| x.name.as_slice() == name)
    }

    fn xattr_bytes(&self) -> usize {
        self.xattrs().iter().map(|x| x.name.len() + x.value.len()).sum()
    }

    /// getxattr semantics (see `Fs::getxattr`).
    pub fn get_xattr(&self, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        check(name)?;
        let x = self.xattrs().get(self.xattr_index(name).ok_or(ENODATA)?).ok_or(ENODATA)?;
        if buf.is_empty() {
            return Ok(x.value.len());
        }
        let dst = buf.get_mut(..x.value.len()).ok_or(ERANGE)?;
        dst.copy_from_slice(&x.value);
        Ok(x.value.len())
    }

    /// setxattr semantics (see `Fs::setxattr`).
    pub fn set_xattr(&mut self, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        check(name)?;
        if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
            return Err(EINVAL);
        }
        if value.len() > XATTR_SIZE_MAX {
            return Err(E2BIG);
        }
        let idx = self.xattr_index(name);
        match idx {
            Some(_) if flags & XATTR_CREATE != 0 => return Err(EEXIST),
            None if flags & XATTR_REPLACE != 0 => return Err(ENODATA),
            _ => {}
        }
        let old = idx.and_then(|i| self.xattrs().get(i)).map_or(0, |x| x.name.len() + x.value.len());
        if self.xattr_bytes() - old + name.len() + value.len() > XATTR_TOTAL_MAX {
            return Err(ENOSPC);
        }
        let mut v = FVec::new();
        v.try_extend_from_slice(value)?;
        let xattrs = &mut self.extra_mut()?.xattrs;
        match idx.and_then(|i| xattrs.get_mut(i)) {
            Some(x) => x.value = v,
            None => {
                let mut n = FVec::new();
                n.try_extend_from_slice(name)?;
                xattrs.try_push(Xattr { name: n, value: v })?;
            }
        }
        Ok(())
    }

    /// listxattr semantics (see `Fs::listxattr`).
    pub fn list_xattr(&self, buf: &mut [u8]) -> Result<usize> {
        let total: usize = self.xattrs().iter().map(|x| x.name.len() + 1).sum();
        if buf.is_empty() {
            return Ok(total);
        }
        if buf.len() < total {
            return Err(ERANGE);
        }
        let mut at = 0;
        for x in self.xattrs().iter() {
            let n = x.name.len();
            buf[at..at + n].copy_from_slice(&x.name);
            buf[at + n] = 0;
            at += n + 1;
        }
        Ok(total)
    }

    /// removexattr semantics.
    pub fn remove_xattr(&mut self, name: &[u8]) -> Result<()> {
        check(name)?;
        let i = self.xattr_index(name).ok_or(ENODATA)?;
        if let Some(x) = self.extra.as_mut() {
            x.xattrs.remove(i);
        }
        Ok(())
    }
}
