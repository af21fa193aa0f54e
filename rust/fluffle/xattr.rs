//! Extended attributes, stored in the inode's node: the `user.`,
//! `trusted.` and `security.` namespaces and the two POSIX ACLs
//! (`system.posix_acl_access`/`_default`, in the kernel's xattr encoding;
//! the kernel glue checks who may use which, as the VFS and ext4 do).

use super::errno::*;
use super::inode::{Inode, Xattr};
use super::mem::FVec;
use super::types::*;

/// Namespaces whose every name (prefix plus 1.. bytes) is stored.
const PREFIXES: [&[u8]; 3] = [b"user.", b"trusted.", b"security."];
/// `trusted.`: listed only to CAP_SYS_ADMIN (`Fs::listxattr_visible`).
pub const TRUSTED: &[u8] = b"trusted.";
/// The access ACL (`posix_acl_xattr` encoding).
pub const ACL_ACCESS: &[u8] = b"system.posix_acl_access";
/// A directory's default ACL, inherited by what is created in it.
pub const ACL_DEFAULT: &[u8] = b"system.posix_acl_default";

/// True for a name of a stored namespace or one of the ACL names.
fn known(name: &[u8]) -> bool {
    name == ACL_ACCESS || name == ACL_DEFAULT || PREFIXES.iter().any(|p| name.len() > p.len() && name.starts_with(p))
}

/// True for a storable name: a namespace prefix plus 1.. more bytes (or an
/// ACL name), no NUL, at most [`XATTR_NAME_MAX`] bytes.
pub fn valid_name(name: &[u8]) -> bool {
    name.len() <= XATTR_NAME_MAX && known(name) && !name.contains(&0)
}

fn check(name: &[u8]) -> Result<()> {
    if name.len() > XATTR_NAME_MAX {
        return Err(ERANGE);
    }
    if PREFIXES.contains(&name) {
        return Err(EINVAL); // a bare prefix, as the VFS answers it
    }
    if !known(name) {
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

    /// listxattr semantics (see `Fs::listxattr`); `trusted.*` names only
    /// if `trusted`.
    pub fn list_xattr(&self, buf: &mut [u8], trusted: bool) -> Result<usize> {
        let shown = |x: &&Xattr| trusted || !x.name.starts_with(TRUSTED);
        let total: usize = self.xattrs().iter().filter(shown).map(|x| x.name.len() + 1).sum();
        if buf.is_empty() {
            return Ok(total);
        }
        if buf.len() < total {
            return Err(ERANGE);
        }
        let mut at = 0;
        for x in self.xattrs().iter().filter(shown) {
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
