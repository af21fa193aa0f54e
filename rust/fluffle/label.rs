//! The filesystem's identity as users see it: the uuid (random, from mkfs;
//! also the CRC seed of log blocks) and the volume label (`mkfs -L`), both
//! kept in every checkpoint (`checkpoint.rs`) and shown by
//! `FS_IOC_GETFSUUID`, `FS_IOC_GETFSLABEL` and `fluffle dump`.

use super::device::ZonedDevice;
use super::fs::Fs;
use super::types::LABEL_MAX;

/// Bytes of `label` before its first NUL.
pub fn len(label: &[u8; LABEL_MAX + 1]) -> usize {
    label.iter().position(|&b| b == 0).unwrap_or(LABEL_MAX + 1)
}

/// `label` if it is a valid label (NUL-terminated within the array, zero
/// after the NUL, so that equal labels are equal arrays), else `None`.
pub fn checked(label: &[u8; LABEL_MAX + 1]) -> Option<[u8; LABEL_MAX + 1]> {
    let n = len(label);
    if n > LABEL_MAX || label[n..].iter().any(|&b| b != 0) {
        return None;
    }
    Some(*label)
}

/// A label array from `s` (`None` if longer than [`LABEL_MAX`] or holding
/// a NUL).
pub fn from_bytes(s: &[u8]) -> Option<[u8; LABEL_MAX + 1]> {
    if s.len() > LABEL_MAX || s.contains(&0) {
        return None;
    }
    let mut l = [0u8; LABEL_MAX + 1];
    l[..s.len()].copy_from_slice(s);
    Some(l)
}

impl<D: ZonedDevice> Fs<D> {
    /// The filesystem uuid.
    pub fn uuid(&self) -> [u8; 16] {
        self.uuid
    }

    /// The volume label (empty: none).
    pub fn label(&self) -> &[u8] {
        &self.label[..len(&self.label)]
    }
}
