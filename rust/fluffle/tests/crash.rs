//! Crash tests: for scripted workloads, cut the power at every device write
//! (and, separately, tear the write at every index, and fail every flush),
//! then remount and check that
//! - mount succeeds and fsck passes,
//! - the whole tree can be read without errors,
//! - every file fsynced (or covered by a sync) before the cut is there
//!   with a content it had since that durability point (exactly the
//!   fsynced content when it was not modified afterwards),
//! - nothing is torn: every file found has a content some file at that
//!   path had after a whole operation (never a mix, never garbage).
//!
//! The device has a volatile write cache: writes not flushed before the cut
//! are lost, so a missing flush is caught. A flush that fails must make the
//! fsync/sync that issued it fail.
//!
//! `FLUFFLE_CRASH_STRIDE=N` tests every N-th write only (default 1: all);
//! `FLUFFLE_CRASH_WORKLOAD=TEXT` runs only the scripted workloads whose
//! name contains TEXT.

mod common;
mod model;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::*;
use fluffle::errno::Result;
use fluffle::device::ZonedDevice;
use fluffle::fs::{FileType, Fs, SetAttr};
use fluffle::memdev::MemDevice;
use model::reference::{Ino, Kind, Model};
use model::rng::pattern;

/// One workload step; paths are "a/b" from the root.
#[derive(Clone, Debug)]
enum Step {
    Mkdir(String),
    Create(String),
    /// Write `len` bytes of `pattern(seed)` at `off`.
    Write(String, u64, usize, u64),
    Truncate(String, u64),
    Fsync(String),
    Fdatasync(String),
    Sync,
    Rename(String, String),
    Unlink(String),
    Link(String, String),
    SetXattr(String, String, usize, u64),
    RemoveXattr(String, String),
    /// A FIFO, device node or socket and its device number.
    Mknod(String, Kind, u32),
    /// `chattr`: the file's inode flags become these.
    SetFlags(String, u16),
    /// O_TMPFILE in the root, held open to the end (a crash), `len` bytes
    /// of `pattern(seed)` written, then linked at the path if one is given
    /// (else an orphan that mount must free).
    Tmpfile(Option<String>, usize, u64),
    /// rename with RENAME_WHITEOUT: a whiteout (char 0/0) at the old path.
    RenameWhiteout(String, String),
    /// `fallocate(mode, off, len)`.
    Fallocate(String, u32, u64, u64),
}
use Step::*;

fn s(x: &str) -> String {
    x.to_string()
}

/// The state of one file after a whole operation.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FileState {
    data: Vec<u8>,
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    iflags: u16,
}

/// What the workload did, as the checks need it.
struct Tracker {
    m: Model,
    /// Every state each file had, in order.
    states: HashMap<Ino, Vec<FileState>>,
    /// Index into `states` of the state at the file's last durability point
    /// (absent: never made durable).
    durable: HashMap<Ino, usize>,
    /// The paths of each inode at its durability point and since then.
    paths_since: HashMap<Ino, BTreeSet<String>>,
    /// Paths each inode had at its durability point.
    durable_paths: HashMap<Ino, BTreeSet<String>>,
    /// Every inode that ever had a path.
    path_history: HashMap<String, BTreeSet<Ino>>,
    /// Directories that ever existed.
    dirs_ever: BTreeSet<String>,
    /// Kind and device number of every special file ever made.
    specials: HashMap<Ino, (Kind, u32)>,
    /// Special files at their last durability point: their paths then.
    durable_specials: HashMap<Ino, BTreeSet<String>>,
    /// Inode flags of each regular file (the model has none).
    iflags: HashMap<Ino, u16>,
}

impl Tracker {
    fn new() -> Self {
        let mut dirs_ever = BTreeSet::new();
        dirs_ever.insert("/".to_string());
        Tracker {
            m: Model::new(),
            states: HashMap::new(),
            durable: HashMap::new(),
            paths_since: HashMap::new(),
            durable_paths: HashMap::new(),
            path_history: HashMap::new(),
            dirs_ever,
            specials: HashMap::new(),
            durable_specials: HashMap::new(),
            iflags: HashMap::new(),
        }
    }

    fn resolve(&self, path: &str) -> Ino {
        let mut ino = self.m.root;
        for c in path.split('/').filter(|s| !s.is_empty()) {
            ino = self.m.lookup(ino, c.as_bytes()).expect("model path");
        }
        ino
    }

    fn parent(&self, path: &str) -> (Ino, Vec<u8>) {
        let (dirs, last) = split(path);
        (self.resolve(&dirs.join("/")), last.as_bytes().to_vec())
    }

    fn current(&self, ino: Ino) -> FileState {
        let n = self.m.node(ino).expect("model inode");
        let iflags = self.iflags.get(&ino).copied().unwrap_or(0);
        FileState { data: self.m.file(ino).cloned().unwrap_or_default(), xattrs: n.xattrs.clone(), iflags }
    }

    fn paths(&self) -> Vec<(String, Ino)> {
        self.m
            .walk()
            .into_iter()
            .map(|(p, i)| (if p.is_empty() { "/".to_string() } else { String::from_utf8_lossy(&p).into_owned() }, i))
            .collect()
    }

    /// Records the effect of a step that succeeded on the core.
    fn apply(&mut self, step: &Step) {

        let touched: Option<Ino> = match step {
            Mkdir(p) => {
                let (d, n) = self.parent(p);
                self.m.mkdir(d, &n, 0o755).ok();
                None
            }
            Create(p) => {
                let (d, n) = self.parent(p);
                let i = self.m.create(d, &n, 0o644).expect("model create");
                Some(i)
            }
            Mknod(p, kind, rdev) => {
                let (d, n) = self.parent(p);
                let i = self.m.mknod(d, &n, *kind, 0o640, *rdev).expect("model mknod");
                self.specials.insert(i, (*kind, *rdev));
                None
            }
            Write(p, off, len, seed) => {
                let i = self.resolve(p);
                self.m.write(i, *off, &pattern(*seed, *len)).expect("model write");
                Some(i)
            }
            Truncate(p, size) => {
                let i = self.resolve(p);
                self.m.truncate(i, *size).expect("model truncate");
                Some(i)
            }
            Fallocate(p, mode, off, len) => {
                let i = self.resolve(p);
                self.m.fallocate(i, *mode, *off, *len).expect("model fallocate");
                Some(i)
            }
            SetXattr(p, name, len, seed) => {
                let i = self.resolve(p);
                self.m.setxattr(i, name.as_bytes(), &pattern(*seed, *len), 0).expect("model setxattr");
                Some(i)
            }
            RemoveXattr(p, name) => {
                let i = self.resolve(p);
                self.m.removexattr(i, name.as_bytes()).expect("model removexattr");
                Some(i)
            }
            SetFlags(p, flags) => {
                let i = self.resolve(p);
                self.iflags.insert(i, *flags);
                Some(i)
            }
            Rename(a, b) => {
                let (sd, sn) = self.parent(a);
                let (dd, dn) = self.parent(b);
                self.m.rename(sd, &sn, dd, &dn, false).expect("model rename");
                None
            }
            RenameWhiteout(a, b) => {
                let (sd, sn) = self.parent(a);
                let (dd, dn) = self.parent(b);
                self.m.rename(sd, &sn, dd, &dn, false).expect("model rename");
                let w = self.m.mknod(sd, &sn, Kind::Char, 0, 0).expect("model whiteout");
                self.specials.insert(w, (Kind::Char, 0));
                None
            }
            // Unlinked, it is nowhere in the namespace; linked, a new file.
            Tmpfile(None, ..) => None,
            Tmpfile(Some(p), len, seed) => {
                let (d, n) = self.parent(p);
                let i = self.m.create(d, &n, 0o644).expect("model create");
                self.m.write(i, 0, &pattern(*seed, *len)).expect("model write");
                Some(i)
            }
            Unlink(p) => {
                let (d, n) = self.parent(p);
                self.m.unlink(d, &n).expect("model unlink");
                None
            }
            Link(a, b) => {
                let i = self.resolve(a);
                let (d, n) = self.parent(b);
                self.m.link(i, d, &n).expect("model link");
                None
            }
            Fsync(p) | Fdatasync(p) => {
                // The core's contract: fsync makes the file's data and the
                // metadata to find it durable (a checkpoint if its
                // namespace changed), so its current paths are durable too.
                let i = self.resolve(p);
                self.make_durable(i);
                None
            }
            Sync => {
                let inos: Vec<Ino> = self.m.nodes.keys().copied().collect();
                for i in inos {
                    self.make_durable(i);
                }
                None
            }
        };

        if let Some(i) = touched {
            let st = self.current(i);
            self.states.entry(i).or_default().push(st);
        }
        for (p, i) in self.paths() {
            if self.m.entries(i).is_ok() {
                self.dirs_ever.insert(p.clone());
            }
            self.path_history.entry(p.clone()).or_default().insert(i);
            if let Some(set) = self.paths_since.get_mut(&i) {
                set.insert(p);
            }
        }
    }

    /// True if `step` would succeed on the model.
    fn valid(&self, step: &Step) -> bool {
        let mut m = self.m.clone();
        let look = |m: &Model, p: &str| -> Option<Ino> {
            let mut ino = m.root;
            for c in p.split('/').filter(|s| !s.is_empty()) {
                ino = m.lookup(ino, c.as_bytes()).ok()?;
            }
            Some(ino)
        };
        let parent = |m: &Model, p: &str| -> Option<(Ino, Vec<u8>)> {
            let (dirs, last) = split(p);
            Some((look(m, &dirs.join("/"))?, last.as_bytes().to_vec()))
        };
        match step {
            Create(p) => parent(&m, p).is_some_and(|(d, n)| m.create(d, &n, 0o644).is_ok()),
            Mknod(p, k, rdev) => parent(&m, p).is_some_and(|(d, n)| m.mknod(d, &n, *k, 0o640, *rdev).is_ok()),
            Rename(a, b) => match (parent(&m, a), parent(&m, b)) {
                (Some((sd, sn)), Some((dd, dn))) => m.rename(sd, &sn, dd, &dn, false).is_ok(),
                _ => false,
            },
            Unlink(p) => parent(&m, p).is_some_and(|(d, n)| m.unlink(d, &n).is_ok()),
            Link(a, b) => match (look(&m, a), parent(&m, b)) {
                (Some(i), Some((d, n))) => m.link(i, d, &n).is_ok(),
                _ => false,
            },
            RemoveXattr(p, name) => look(&m, p).is_some_and(|i| m.removexattr(i, name.as_bytes()).is_ok()),
            Write(p, ..) | Truncate(p, _) | Fsync(p) | Fdatasync(p) | SetXattr(p, ..) | SetFlags(p, _) => look(&m, p).is_some(),
            Fallocate(p, mode, off, len) => look(&m, p).is_some_and(|i| m.fallocate(i, *mode, *off, *len).is_ok()),
            Mkdir(p) => parent(&m, p).is_some_and(|(d, n)| m.mkdir(d, &n, 0o755).is_ok()),
            Sync => true,
            Tmpfile(None, ..) => true,
            Tmpfile(Some(p), ..) => parent(&m, p).is_some_and(|(d, n)| m.create(d, &n, 0o644).is_ok()),
            RenameWhiteout(a, b) => match (parent(&m, a), parent(&m, b)) {
                (Some((sd, sn)), Some((dd, dn))) => {
                    m.rename(sd, &sn, dd, &dn, false).is_ok() && m.mknod(sd, &sn, Kind::Char, 0, 0).is_ok()
                }
                _ => false,
            },
        }
    }

    fn make_durable(&mut self, ino: Ino) {
        if self.specials.contains_key(&ino) && self.m.node(ino).is_ok() {
            let paths: BTreeSet<String> = self.paths().into_iter().filter(|(_, i)| *i == ino).map(|(p, _)| p).collect();
            self.paths_since.insert(ino, paths.clone());
            self.durable_specials.insert(ino, paths);
            return;
        }
        if self.m.file(ino).is_err() {
            return;
        }
        let st = self.current(ino);
        let v = self.states.entry(ino).or_default();
        if v.last() != Some(&st) {
            v.push(st);
        }
        self.durable.insert(ino, v.len() - 1);
        let paths: BTreeSet<String> = self.paths().into_iter().filter(|(_, i)| *i == ino).map(|(p, _)| p).collect();
        self.paths_since.insert(ino, paths.clone());
        self.durable_paths.insert(ino, paths);
    }

    /// Checks a recovered tree against what was promised.
    fn check(&self, found: &BTreeMap<String, common::Found>) -> std::result::Result<(), String> {
        let live_now: BTreeMap<Ino, BTreeSet<String>> = {
            let mut m: BTreeMap<Ino, BTreeSet<String>> = BTreeMap::new();
            for (p, i) in self.paths() {
                m.entry(i).or_default().insert(p);
            }
            m
        };
        // Nothing torn or invented.
        for (path, f) in found {
            match f.attr.ftype {
                FileType::Directory => {
                    if !self.dirs_ever.contains(path) {
                        return Err(format!("directory {path} never existed"));
                    }
                }
                FileType::Regular => {
                    let cands = self.path_history.get(path).ok_or_else(|| format!("file {path} never existed"))?;
                    let st = FileState { data: f.data.clone(), xattrs: f.xattrs.clone(), iflags: f.iflags };
                    let empty = FileState { data: Vec::new(), xattrs: BTreeMap::new(), iflags: 0 };
                    let ok = cands.iter().any(|i| st == empty || self.states.get(i).is_some_and(|v| v.contains(&st)));
                    if !ok {
                        return Err(format!("file {path}: recovered content ({} bytes, {} xattrs) is no state it ever had", f.data.len(), f.xattrs.len()));
                    }
                }
                FileType::Symlink => return Err(format!("unexpected symlink {path}")),
                // A special file: some inode that had this path was one of
                // this kind and device number.
                FileType::Fifo | FileType::CharDev | FileType::BlockDev | FileType::Socket => {
                    let cands = self.path_history.get(path).ok_or_else(|| format!("special file {path} never existed"))?;
                    let got = (model::core_adapter::kind(f.attr.ftype), f.attr.rdev);
                    if !cands.iter().any(|i| self.specials.get(i) == Some(&got)) {
                        return Err(format!("special file {path}: {got:?} is no special file it ever had"));
                    }
                }
            }
        }
        // Every special file durable and not renamed or unlinked since is
        // at its paths, with its kind and device number.
        for (ino, at_durable) in &self.durable_specials {
            if live_now.get(ino) != Some(at_durable) || self.paths_since.get(ino) != Some(at_durable) {
                continue;
            }
            let want = self.specials[ino];
            for p in at_durable {
                let got = found.get(p).map(|f| (model::core_adapter::kind(f.attr.ftype), f.attr.rdev));
                if got != Some(want) {
                    return Err(format!("durable special file {p}: recovered {got:?}, want {want:?}"));
                }
            }
        }
        // Everything durable is there.
        for (ino, idx) in &self.durable {
            let states = &self.states[ino];
            let allowed = &states[*idx..];
            let since = &self.paths_since[ino];
            let at_durable = &self.durable_paths[ino];
            // Unchanged namespace since the durability point: it must be at
            // exactly those paths.
            let required = live_now.get(ino) == Some(at_durable) && since == at_durable;
            let mut seen = false;
            for p in since {
                if let Some(f) = found.get(p) {
                    if f.attr.ftype != FileType::Regular {
                        continue;
                    }
                    let st = FileState { data: f.data.clone(), xattrs: f.xattrs.clone(), iflags: f.iflags };
                    if allowed.contains(&st) {
                        seen = true;
                    } else if required {
                        let exact = allowed.len() == 1;
                        return Err(format!(
                            "durable file {p}: recovered {} bytes / {} xattrs is not {} (durable {} bytes)",
                            f.data.len(),
                            f.xattrs.len(),
                            if exact { "the fsynced content" } else { "a state since its fsync" },
                            allowed[0].data.len()
                        ));
                    }
                }
            }
            if required && !seen {
                return Err(format!("durable file {at_durable:?} lost"));
            }
        }
        Ok(())
    }
}

/// Runs `steps` on a mounted filesystem; returns how many succeeded and
/// the filesystem if it still exists. `on_step` sees each result.
fn run_steps(fs: &mut Fs<&mut MemDevice>, steps: &[Step], t: &mut Tracker, mut on_step: impl FnMut(&Step, &Result<()>, u64, u64) -> std::result::Result<(), String>) -> std::result::Result<usize, String> {
    for (i, st) in steps.iter().enumerate() {
        let f0 = fs.device().stats().flushes;
        let r = do_step(fs, st);
        let f1 = fs.device().stats().flushes;
        on_step(st, &r, f0, f1)?;
        if r.is_err() {
            return Ok(i);
        }
        t.apply(st);
    }
    Ok(steps.len())
}

fn do_step<D: ZonedDevice>(fs: &mut Fs<D>, st: &Step) -> Result<()> {
    match st {
        Mknod(p, kind, rdev) => {
            let (d, n) = parent_of(fs, p)?;
            let t = match kind {
                Kind::Fifo => FileType::Fifo,
                Kind::Char => FileType::CharDev,
                Kind::Block => FileType::BlockDev,
                _ => FileType::Socket,
            };
            fs.mknod(d, n.as_bytes(), t, 0o640, *rdev, 0, 0).map(|_| ())
        }
        Mkdir(p) => {
            let (d, n) = parent_of(fs, p)?;
            fs.mkdir(d, n.as_bytes(), 0o755, 0, 0).map(|_| ())
        }
        Tmpfile(link, len, seed) => {
            let t = fs.tmpfile(Fs::<D>::ROOT_INO, 0o644, 0, 0)?;
            fs.hold(t.ino)?;
            let n = fs.write(t.ino, 0, &pattern(*seed, *len))?;
            assert_eq!(n, *len, "short write without error");
            if let Some(p) = link {
                let (d, n) = parent_of(fs, p)?;
                fs.link(t.ino, d, n.as_bytes())?;
            }
            Ok(())
        }
        RenameWhiteout(a, b) => {
            let (sd, sn) = parent_of(fs, a)?;
            let (dd, dn) = parent_of(fs, b)?;
            fs.rename_whiteout(sd, sn.as_bytes(), dd, dn.as_bytes(), fluffle::types::RENAME_WHITEOUT, 0, 0)
        }
        Create(p) => {
            let (d, n) = parent_of(fs, p)?;
            fs.create(d, n.as_bytes(), 0o644, 0, 0).map(|_| ())
        }
        Write(p, off, len, seed) => {
            let i = resolve(fs, p)?;
            let n = fs.write(i, *off, &pattern(*seed, *len))?;
            assert_eq!(n, *len, "short write without error");
            Ok(())
        }
        Truncate(p, size) => {
            let i = resolve(fs, p)?;
            fs.setattr(i, &SetAttr { size: Some(*size), ..Default::default() }).map(|_| ())
        }
        Fallocate(p, mode, off, len) => {
            let i = resolve(fs, p)?;
            fs.fallocate(i, *mode, *off, *len)
        }
        Fsync(p) => {
            let i = resolve(fs, p)?;
            fs.fsync(i, false)
        }
        Fdatasync(p) => {
            let i = resolve(fs, p)?;
            fs.fsync(i, true)
        }
        Sync => fs.sync(),
        Rename(a, b) => {
            let (sd, sn) = parent_of(fs, a)?;
            let (dd, dn) = parent_of(fs, b)?;
            fs.rename(sd, sn.as_bytes(), dd, dn.as_bytes(), 0)
        }
        Unlink(p) => {
            let (d, n) = parent_of(fs, p)?;
            fs.unlink(d, n.as_bytes())
        }
        Link(a, b) => {
            let i = resolve(fs, a)?;
            let (d, n) = parent_of(fs, b)?;
            fs.link(i, d, n.as_bytes()).map(|_| ())
        }
        SetXattr(p, name, len, seed) => {
            let i = resolve(fs, p)?;
            fs.setxattr(i, name.as_bytes(), &pattern(*seed, *len), 0)
        }
        RemoveXattr(p, name) => {
            let i = resolve(fs, p)?;
            fs.removexattr(i, name.as_bytes())
        }
        SetFlags(p, flags) => {
            let i = resolve(fs, p)?;
            fs.set_iflags(i, *flags as u32)
        }
    }
}

/// A workload: name, device geometry and steps.
struct Workload {
    name: &'static str,
    zones: u32,
    zone_size: u64,
    zone_cap: u64,
    /// Inode numbers start here (0: as mkfs leaves them).
    first_ino: u64,
    steps: Vec<Step>,
}

fn w_create_write_fsync() -> Workload {
    let mut st = vec![Mkdir(s("d"))];
    for i in 0..4 {
        let p = format!("d/f{i}");
        st.push(Create(p.clone()));
        st.push(Write(p.clone(), 0, 3000 + i * 5000, i as u64));
        if i % 2 == 0 {
            st.push(Fsync(p.clone()));
        }
        st.push(Write(p.clone(), 1000, 100, 100 + i as u64));
        if i == 3 {
            st.push(Fdatasync(p));
        }
    }
    Workload { name: "create+write+fsync", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

fn w_overwrite() -> Workload {
    let f = s("f");
    let mut st = vec![Create(f.clone()), Write(f.clone(), 0, 40000, 1), Fsync(f.clone())];
    for i in 0..6u64 {
        st.push(Write(f.clone(), i * 7000 + 123, 5000, 10 + i));
        if i % 2 == 1 {
            st.push(Fsync(f.clone()));
        }
    }
    st.push(Truncate(f.clone(), 9000));
    st.push(Fsync(f.clone()));
    st.push(Truncate(f.clone(), 30000)); // hole at the end
    st.push(Write(f.clone(), 50000, 10, 99));
    st.push(Fsync(f));
    Workload { name: "overwrite", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

fn w_rename() -> Workload {
    let st = vec![
        Mkdir(s("a")),
        Mkdir(s("b")),
        Create(s("a/x")),
        Write(s("a/x"), 0, 5000, 1),
        Fsync(s("a/x")),
        Rename(s("a/x"), s("b/y")),
        Fsync(s("b/y")),
        Create(s("a/z")),
        Write(s("a/z"), 0, 7000, 2),
        Sync,
        // Replace an existing target.
        Rename(s("a/z"), s("b/y")),
        Fsync(s("b/y")),
        Create(s("t")),
        Write(s("t"), 0, 100, 3),
        Fsync(s("t")),
        Rename(s("t"), s("a/t2")),
        Write(s("a/t2"), 100, 100, 4),
        Fsync(s("a/t2")),
        Rename(s("b"), s("a/b2")),
        Sync,
    ];
    Workload { name: "rename", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

fn w_delete() -> Workload {
    let mut st = Vec::new();
    for i in 0..5 {
        st.push(Create(format!("f{i}")));
        st.push(Write(format!("f{i}"), 0, 9000, i));
    }
    st.push(Sync);
    st.push(Unlink(s("f1")));
    st.push(Link(s("f2"), s("f2link")));
    st.push(Unlink(s("f2")));
    st.push(Fsync(s("f2link")));
    st.push(Unlink(s("f3")));
    st.push(Sync);
    st.push(Unlink(s("f4")));
    st.push(Create(s("f4")));
    st.push(Write(s("f4"), 0, 10, 77));
    st.push(Fsync(s("f4")));
    Workload { name: "delete", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

fn w_many_small() -> Workload {
    let mut st = vec![Mkdir(s("m"))];
    for i in 0..40u64 {
        let p = format!("m/small{i:02}");
        st.push(Create(p.clone()));
        st.push(Write(p.clone(), 0, 1 + (i as usize * 37) % 300, i));
        if i % 10 == 9 {
            st.push(Fsync(p));
        }
        if i == 25 {
            st.push(Sync);
        }
    }
    Workload { name: "many small files", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

fn w_large_growth() -> Workload {
    let f = s("big");
    let mut st = vec![Create(f.clone())];
    for i in 0..12u64 {
        st.push(Write(f.clone(), i * 65536, 65536, i));
        if i % 3 == 2 {
            st.push(Fsync(f.clone()));
        }
    }
    Workload { name: "large file growth", zones: 16, zone_size: 256, zone_cap: 192, first_ino: 0, steps: st }
}

fn w_xattrs() -> Workload {
    let st = vec![
        Create(s("x")),
        SetXattr(s("x"), s("user.a"), 10, 1),
        SetXattr(s("x"), s("user.b"), 300, 2),
        Fsync(s("x")),
        SetXattr(s("x"), s("user.a"), 20, 3),
        RemoveXattr(s("x"), s("user.b")),
        Fsync(s("x")),
        SetXattr(s("x"), s("user.c"), 5000, 4),
        Mkdir(s("d")),
        SetXattr(s("d"), s("user.dir"), 8, 5),
        Sync,
        RemoveXattr(s("x"), s("user.a")),
    ];
    Workload { name: "xattrs", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

/// `chattr` on files beside writes, fsyncs and syncs (format 7's iflags):
/// a recovered file has the flags of a state it had, the fsynced ones when
/// untouched since.
fn w_inode_flags() -> Workload {
    use fluffle::inode::{IFLAG_APPEND, IFLAG_IMMUTABLE, IFLAG_NOATIME, IFLAG_SYNC};
    let st = vec![
        Create(s("a")),
        Write(s("a"), 0, 5000, 1),
        SetFlags(s("a"), IFLAG_APPEND),
        Fsync(s("a")),
        Create(s("b")),
        SetFlags(s("b"), IFLAG_NOATIME | IFLAG_SYNC),
        Sync,
        SetFlags(s("a"), IFLAG_IMMUTABLE | IFLAG_NOATIME),
        Write(s("b"), 100, 300, 2),
        Fdatasync(s("b")),
        SetFlags(s("b"), 0),
        Fsync(s("a")),
        SetFlags(s("a"), 0),
    ];
    Workload { name: "inode flags", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

/// FIFOs, device nodes and sockets made, linked, renamed and unlinked
/// between syncs and beside fsyncs of a new file in the same directory:
/// each comes back with its kind and device number or not at all.
fn w_special_files() -> Workload {
    let st = vec![
        Mkdir(s("d")),
        Mknod(s("d/fifo"), Kind::Fifo, 0),
        Mknod(s("d/null"), Kind::Char, (1 << 20) | 3),
        Mknod(s("d/sda"), Kind::Block, (8 << 20) | 0xfffff),
        Mknod(s("sock"), Kind::Socket, 0),
        Sync,
        Link(s("d/null"), s("null2")),
        Rename(s("d/fifo"), s("fifo")),
        Create(s("d/f")),
        Write(s("d/f"), 0, 5000, 1),
        Fsync(s("d/f")),
        Mknod(s("d/tty"), Kind::Char, (4095 << 20) | 1),
        Unlink(s("d/sda")),
        Sync,
        Rename(s("sock"), s("d/sock")),
        Unlink(s("null2")),
        Mknod(s("d/blk"), Kind::Block, u32::MAX),
        Fsync(s("d/f")),
    ];
    Workload { name: "special files", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

/// What overlayfs does to its upper layer: whiteout renames (of files
/// and a directory) and O_TMPFILE files, some linked (they must come back
/// like created files), some held unlinked until the crash (orphans: mount
/// must free them, fsck then finds no leaked inode or block).
fn w_overlay_upper() -> Workload {
    let st = vec![
        Mkdir(s("d")),
        Create(s("a")),
        Write(s("a"), 0, 6000, 1),
        Create(s("d/b")),
        Write(s("d/b"), 0, 3000, 2),
        Sync,
        RenameWhiteout(s("a"), s("d/a2")),
        Tmpfile(None, 20_000, 3),
        Create(s("d/f")),
        Write(s("d/f"), 0, 5000, 4),
        Fsync(s("d/f")),
        Tmpfile(Some(s("d/t")), 9000, 5),
        Sync,
        RenameWhiteout(s("d/b"), s("b2")),
        Mkdir(s("sub")),
        RenameWhiteout(s("sub"), s("d/sub")),
        Tmpfile(Some(s("t2")), 5000, 6),
        Fsync(s("t2")),
        Tmpfile(None, 12_000, 7),
        Unlink(s("a")),
        Fsync(s("d/f")),
        Sync,
        RenameWhiteout(s("d/a2"), s("a")),
    ];
    Workload { name: "overlay upper (whiteouts, tmpfiles)", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

/// More inodes than one NAT leaf holds and more changes per checkpoint
/// than the NAT journal holds: the cut lands while the checkpoint writes
/// NAT leaves and the interior root, and between journal-only checkpoints.
fn w_nat_tree() -> Workload {
    let mut st = vec![Mkdir(s("n"))];
    for i in 0..360u64 {
        st.push(Create(format!("n/f{i:03}")));
        if i % 60 == 0 {
            st.push(Write(format!("n/f{i:03}"), 0, 100, i));
        }
    }
    st.push(Sync);
    st.push(Create(s("n/late")));
    st.push(Write(s("n/late"), 0, 5000, 1000));
    st.push(Fsync(s("n/late")));
    for i in (0..360u64).step_by(2) {
        st.push(Unlink(format!("n/f{i:03}")));
    }
    st.push(Sync);
    st.push(Unlink(s("n/f001")));
    st.push(Sync);
    Workload { name: "NAT tree", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

/// fsync of new files without a checkpoint (the node carries the name):
/// a directory big enough for dentry blocks, new files fsynced and
/// fdatasynced (some twice, some changed after), a name lost and reused
/// (that fsync must checkpoint), a rename and a link after an fsync, new
/// files at the root; the cut lands between the data, the marked node and
/// the flush of each.
fn w_fsync_new_files() -> Workload {
    let long = |i: u64| format!("big/an-entry-with-a-rather-long-name-{i:03}");
    let mut st = vec![Mkdir(s("big"))];
    for i in 0..150u64 {
        st.push(Create(long(i)));
    }
    st.push(Sync);
    for k in 0..24u64 {
        let p = format!("big/new{k:02}");
        st.push(Create(p.clone()));
        st.push(Write(p.clone(), 0, 500 + k as usize * 900, k));
        st.push(if k % 3 == 2 { Fdatasync(p.clone()) } else { Fsync(p.clone()) });
        if k % 4 == 1 {
            st.push(Write(p.clone(), 100, 200, 100 + k));
        }
        if k % 5 == 0 {
            st.push(Write(p.clone(), 0, 300, 200 + k));
            st.push(Fsync(p.clone()));
        }
        match k {
            8 => st.push(Unlink(long(0))),
            9 => {
                st.push(Create(long(0)));
                st.push(Write(long(0), 0, 700, 300));
                st.push(Fsync(long(0)));
            }
            12 => st.push(Sync),
            16 => {
                st.push(Rename(s("big/new03"), s("big/renamed03")));
                st.push(Fsync(s("big/renamed03")));
            }
            18 => {
                st.push(Link(s("big/new17"), s("linked17")));
                st.push(Fsync(s("big/new17")));
            }
            _ => {}
        }
        if k % 6 == 3 {
            let t = format!("top{k}");
            st.push(Create(t.clone()));
            st.push(Write(t.clone(), 0, 4096, 400 + k));
            st.push(Fsync(t));
        }
    }
    Workload { name: "fsync of new files", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

/// A directory in hashed dentry blocks that grows over several levels,
/// then loses most names (emptied blocks are unmapped), gets new ones
/// (holes reused), renames (entries move to their new name's bucket) and
/// an fsynced new file; checkpoints in between.
fn w_big_directory_churn() -> Workload {
    let name = |i: u64| format!("d/entry-number-{i:04}-with-some-padding");
    let mut st = vec![Mkdir(s("d"))];
    for i in 0..300u64 {
        st.push(Create(name(i)));
    }
    st.push(Sync);
    for i in (0..300u64).filter(|i| i % 100 != 0) {
        st.push(Unlink(name(i)));
    }
    st.push(Sync);
    for i in 300..380u64 {
        st.push(Create(name(i)));
    }
    for i in (300..380u64).step_by(8) {
        st.push(Rename(name(i), format!("d/renamed-{i}")));
    }
    st.push(Rename(name(0), s("d/renamed-0")));
    st.push(Create(s("d/late")));
    st.push(Write(s("d/late"), 0, 5000, 7));
    st.push(Fsync(s("d/late")));
    st.push(Sync);
    st.push(Unlink(name(100)));
    Workload { name: "big directory churn", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

/// Overwrites on a tiny device so foreground GC moves live blocks and
/// resets zones in the middle of the workload: the cut lands inside GC.
fn w_gc_pressure() -> Workload {
    let mut st = Vec::new();
    for i in 0..3u64 {
        let p = format!("g{i}");
        st.push(Create(p.clone()));
        st.push(Write(p.clone(), 0, 40960, i));
    }
    st.push(Sync);
    for k in 0..90u64 {
        let p = format!("g{}", k % 3);
        st.push(Write(p.clone(), (k * 4096 * 7) % 36864, 4096, 100 + k));
        if k % 2 == 1 {
            st.push(Fsync(p));
        }
        if k % 30 == 29 {
            st.push(Sync);
        }
    }
    Workload { name: "gc pressure", zones: 12, zone_size: 16, zone_cap: 16, first_ino: 0, steps: st }
}

/// A file fsynced a block at a time on small zones, so that the data and
/// node heads fill and close zones (each with its closing summary) after
/// the last checkpoint: after a crash, roll-forward keeps blocks in zones
/// no checkpoint has seen, and mount writes the summaries of the zones it
/// closes.
fn w_fsync_fills_zones() -> Workload {
    let mut st = vec![Create(s("a")), Create(s("b")), Sync];
    for k in 0..36u64 {
        let p = if k % 3 == 2 { s("b") } else { s("a") };
        st.push(Write(p.clone(), (k / 3) * 4096, 4096, 200 + k));
        st.push(Fsync(p));
        if k == 20 {
            st.push(Sync);
        }
    }
    Workload { name: "fsync fills zones", zones: 14, zone_size: 16, zone_cap: 16, first_ino: 0, steps: st }
}

/// A random but valid workload: file/dir creation, writes, truncates,
/// renames (also replacing), links, unlinks, xattrs, fsync/fdatasync and
/// the odd sync, over a few names in three directories.
fn w_random(seed: u64, steps: usize) -> Workload {
    use model::rng::Rng;
    let mut r = Rng::new(seed);
    let mut m = Tracker::new();
    let dirs = ["", "d1", "d1/d2"];
    let mut st = vec![Mkdir(s("d1")), Mkdir(s("d1/d2"))];
    for x in &st {
        m.apply(x);
    }
    let files = |m: &Tracker| -> Vec<String> {
        m.paths().into_iter().filter(|(_, i)| m.m.file(*i).is_ok()).map(|(p, _)| p.trim_start_matches('/').to_string()).collect()
    };
    while st.len() < steps {
        let name = |r: &mut Rng| format!("{}/{}", r.pick(&dirs), r.pick(&["a", "b", "c", "d"])).trim_start_matches('/').to_string();
        let fl = files(&m);
        let any_file = |r: &mut Rng| if fl.is_empty() { None } else { Some(r.pick(&fl).clone()) };
        let step = match r.below(22) {
            20 | 21 => match any_file(&mut r) {
                Some(f) => Fallocate(f, *r.pick(&[0u32, 0x01, 0x03, 0x10, 0x11]), r.below(40000), r.range(1, 30000)),
                None => continue,
            },
            0..=2 => Create(name(&mut r)),
            3..=7 => match any_file(&mut r) {
                Some(f) => Write(f, r.below(30000), r.range(1, 12000) as usize, r.next_u64()),
                None => continue,
            },
            8 => match any_file(&mut r) {
                Some(f) => Truncate(f, r.below(30000)),
                None => continue,
            },
            9..=11 => match any_file(&mut r) {
                Some(f) => Fsync(f),
                None => continue,
            },
            12 => match any_file(&mut r) {
                Some(f) => Fdatasync(f),
                None => continue,
            },
            13 => Sync,
            14 => match any_file(&mut r) {
                Some(f) => Rename(f, name(&mut r)),
                None => continue,
            },
            15 => match any_file(&mut r) {
                Some(f) => Unlink(f),
                None => continue,
            },
            16 => match any_file(&mut r) {
                Some(f) => Link(f, name(&mut r)),
                None => continue,
            },
            17 | 18 => match any_file(&mut r) {
                Some(f) => SetXattr(f, format!("user.{}", r.pick(&["x", "y"])), r.range(0, 200) as usize, r.next_u64()),
                None => continue,
            },
            _ => match any_file(&mut r) {
                Some(f) => RemoveXattr(f, format!("user.{}", r.pick(&["x", "y"]))),
                None => continue,
            },
        };
        // Keep only steps that succeed (the fault-free run must not fail).
        if !m.valid(&step) {
            continue;
        }
        m.apply(&step);
        st.push(step);
    }
    Workload { name: "random", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

/// fallocate: reservations (mode 0 and KEEP_SIZE past EOF), writes into
/// them, punched holes and zeroed ranges (of written and of dirty data),
/// truncates through reservations, fsync of an old and of a new file with
/// reservations (roll-forward replaces the runs and the total follows),
/// a sync in between. fsck after each cut checks the reserved total.
fn w_fallocate() -> Workload {
    const KEEP: u32 = 0x01;
    const PUNCH: u32 = 0x03;
    const ZERO: u32 = 0x10;
    let (f, g) = (s("f"), s("g"));
    let st = vec![
        Create(f.clone()),
        Write(f.clone(), 0, 65536, 1),
        Fsync(f.clone()),
        Fallocate(f.clone(), KEEP, 65536, 196608),
        Write(f.clone(), 70000, 20000, 2),
        Fsync(f.clone()),
        Fallocate(f.clone(), PUNCH, 8192, 32768),
        Fallocate(f.clone(), PUNCH, 100, 3000),
        Fdatasync(f.clone()),
        Fallocate(f.clone(), ZERO, 30000, 50000),
        Fallocate(f.clone(), 0, 200000, 100000),
        Sync,
        Create(g.clone()),
        Fallocate(g.clone(), 0, 0, 40960),
        Write(g.clone(), 4096, 8192, 3),
        Fsync(g.clone()),
        Write(f.clone(), 250000, 30000, 4),
        Fallocate(f.clone(), PUNCH, 240000, 20000),
        Fallocate(f.clone(), ZERO | KEEP, 290000, 40000),
        Truncate(f.clone(), 150000),
        Fsync(f.clone()),
        Fallocate(g.clone(), PUNCH, 0, 20000),
        Fallocate(g.clone(), KEEP, 40960, 81920),
        Fsync(g.clone()),
        Unlink(g.clone()),
        Sync,
    ];
    Workload { name: "fallocate", zones: 16, zone_size: 64, zone_cap: 48, first_ino: 0, steps: st }
}

/// The scripted workloads; `FLUFFLE_CRASH_WORKLOAD=TEXT` keeps those whose
/// name contains TEXT (to run one while working on it).
fn workloads() -> Vec<Workload> {
    let only = std::env::var("FLUFFLE_CRASH_WORKLOAD").unwrap_or_default();
    let all = vec![
        w_fallocate(),
        w_create_write_fsync(),
        w_overwrite(),
        w_rename(),
        w_delete(),
        w_many_small(),
        w_large_growth(),
        w_xattrs(),
        w_special_files(),
        w_inode_flags(),
        w_overlay_upper(),
        w_gc_pressure(),
        w_nat_tree(),
        w_fsync_new_files(),
        w_fsync_fills_zones(),
        w_big_directory_churn(),
        high_inodes(w_fsync_new_files(), "fsync of new files, inode numbers near 2^32"),
        high_inodes(w_gc_pressure(), "gc pressure, inode numbers near 2^32"),
    ];
    all.into_iter().filter(|w| w.name.contains(only.as_str())).collect()
}

/// `w` with inode numbers just below the last one (owner words, the NAT's
/// highest leaves, roll-forward's checks of new numbers).
fn high_inodes(w: Workload, name: &'static str) -> Workload {
    Workload { name, first_ino: fluffle::types::INO_END - 400, ..w }
}

/// How a run is disturbed.
#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    CutAfter(u64),
    /// Write N lands only its first `.1` blocks, then the power goes.
    Tear(u64, usize),
    FailFlush(u64),
    /// Write N fails with EIO (nothing lands) but the device keeps working.
    FailWrite(u64),
}

/// Runs workload `w` from the formatted `base` with `fault`, crashes, then
/// remounts and checks.
fn run_once(w: &Workload, base: &MemDevice, fault: Fault) -> std::result::Result<(), String> {
    let mut dev = base.clone();
    let (w0, f0) = (dev.write_count(), dev.stats().flushes);
    match fault {
        Fault::None => {}
        Fault::CutAfter(n) => dev.power_cut_after(w0 + n),
        Fault::Tear(n, k) => dev.tear_write(w0 + n, k),
        Fault::FailFlush(n) => dev.fail_flush(f0 + n),
        Fault::FailWrite(n) => dev.fail_write(w0 + n),
    }
    let failing_flush = match fault {
        Fault::FailFlush(n) => Some(f0 + n),
        _ => None,
    };
    let mut t = Tracker::new();
    // The filesystem runs on `&mut dev`, so the device (with whatever
    // reached it) outlives a filesystem that is simply dropped: a crash.
    if let Ok(mut fs) = mount(&mut dev) {
        let mut flush_err: Option<String> = None;
        let done = run_steps(&mut fs, &w.steps, &mut t, |st, r, fa, fb| {
            if let Some(ff) = failing_flush {
                let durable_step = matches!(st, Fsync(_) | Fdatasync(_) | Sync);
                if durable_step && fa < ff && ff <= fb && r.is_ok() {
                    flush_err = Some(format!("{st:?} returned Ok although flush #{} failed", ff - f0));
                }
            }
            Ok(())
        })?;
        if let Some(e) = flush_err {
            return Err(e);
        }
        if done == w.steps.len() {
            let fa = fs.device().stats().flushes;
            let r = fs.unmount().map(|_| ());
            let fb = dev.stats().flushes;
            if r.is_ok() {
                if let Some(ff) = failing_flush {
                    if fa < ff && ff <= fb {
                        return Err(format!("unmount returned Ok although flush #{} failed", ff - f0));
                    }
                }
                // A clean unmount makes everything durable.
                t.apply(&Sync);
            }
        }
    }
    let crashed = dev.after_power_loss();
    // The image as found (read-only), then mounted for real.
    fsck_device(&mut crashed.clone()).map_err(|e| format!("fsck of the crashed image: {e}"))?;
    let mut fs = mount(crashed).map_err(|e| format!("remount after crash failed: {e:?}"))?;
    fsck(&mut fs).map_err(|e| format!("fsck after crash: {e}"))?;
    let found = walk(&mut fs).map_err(|e| format!("reading the recovered tree: {e:?}"))?;
    t.check(&found)?;
    // GC after the crash finds the owners of what survived in the zones'
    // summaries (those of the zones mount closed included) and moves it
    // without losing any.
    for _ in 0..8 {
        if !fs.gc_step().map_err(|e| format!("GC after crash: {e:?}"))? {
            break;
        }
    }
    fsck(&mut fs).map_err(|e| format!("fsck after GC after crash: {e}"))?;
    let found = walk(&mut fs).map_err(|e| format!("reading the tree after GC: {e:?}"))?;
    t.check(&found).map_err(|e| format!("after GC: {e}"))?;
    // The recovered filesystem keeps working: write, unmount, remount.
    let probe = fs.create(ROOT, b"probe-after-crash", 0o644, 0, 0).map_err(|e| format!("create after crash: {e:?}"))?;
    fs.write(probe.ino, 0, b"still alive").map_err(|e| format!("write after crash: {e:?}"))?;
    let dev = fs.unmount().map_err(|e| format!("unmount after crash: {e:?}"))?;
    let mut fs = mount(dev).map_err(|e| format!("second remount: {e:?}"))?;
    fsck(&mut fs).map_err(|e| format!("fsck after second remount: {e}"))?;
    let i = resolve(&mut fs, "probe-after-crash").map_err(|e| format!("probe lost: {e:?}"))?;
    if read_all(&mut fs, i).ok().as_deref() != Some(&b"still alive"[..]) {
        return Err("probe content lost after clean unmount".into());
    }
    Ok(())
}

fn stride() -> u64 {
    std::env::var("FLUFFLE_CRASH_STRIDE").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

/// Counts the writes and flushes of workload `w` (mount to unmount).
fn measure(w: &Workload, base: &MemDevice) -> (u64, u64) {
    let mut dev = base.clone();
    let mut fs = mount(&mut dev).expect("mount");
    let mut t = Tracker::new();
    let done = run_steps(&mut fs, &w.steps, &mut t, |st, r, _, _| match r {
        Ok(()) => Ok(()),
        Err(e) => Err(format!("{}: {st:?} failed without a fault: {e:?}", w.name)),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done, w.steps.len());
    fs.unmount().expect("unmount");
    eprintln!("{}: {} zone resets, {} writes", w.name, dev.stats().resets - base.stats().resets, dev.write_count() - base.write_count());
    (dev.write_count() - base.write_count(), dev.stats().flushes - base.stats().flushes)
}

/// The formatted device a workload starts from. With a volatile cache,
/// writes not flushed before the cut are lost; without, every write that
/// landed survives (both must recover).
fn base_for(w: &Workload, volatile: bool) -> MemDevice {
    let mut dev = formatted(w.zones, w.zone_size, w.zone_cap);
    if w.first_ino != 0 {
        let mut fs = mount(dev).unwrap();
        fs.skip_inode_numbers_to(w.first_ino).unwrap();
        fs.sync().unwrap();
        dev = fs.unmount().unwrap();
    }
    dev.set_volatile_cache(volatile);
    dev
}

/// Runs every workload with `fault(n)` for every write index `n`.
fn crash_every_write(volatile: bool, first: u64, fault: impl Fn(u64) -> Fault, what: &str) {
    let mut failures = Vec::new();
    let mut runs = 0;
    for w in workloads() {
        let base = base_for(&w, volatile);
        let (writes, _) = measure(&w, &base);
        if let Err(e) = run_once(&w, &base, Fault::None) {
            failures.push(format!("{}: without a fault: {e}", w.name));
            continue;
        }
        let mut n = first;
        while n <= writes {
            runs += 1;
            if let Err(e) = run_once(&w, &base, fault(n)) {
                failures.push(format!("{}: {:?} of {writes} writes (volatile cache {volatile}): {e}", w.name, fault(n)));
                break; // one report per workload is enough
            }
            n += stride();
        }
        eprintln!("{what}: {}: {writes} writes", w.name);
    }
    eprintln!("{what}: {runs} crash runs");
    assert!(failures.is_empty(), "crash failures:\n{}", failures.join("\n"));
}

#[test]
fn power_cut_after_every_write() {
    crash_every_write(true, 0, Fault::CutAfter, "cut, volatile cache");
}

#[test]
fn power_cut_after_every_write_without_cache() {
    crash_every_write(false, 0, Fault::CutAfter, "cut, no cache");
}

#[test]
fn torn_write_at_every_write() {
    crash_every_write(true, 1, |n| Fault::Tear(n, 1), "torn after 1 block");
    crash_every_write(false, 1, |n| Fault::Tear(n, 3), "torn after 3 blocks");
}

/// A single failed write (EIO, device still alive): the operation that hit
/// it must fail or the filesystem must work around it; nothing it reports
/// durable may be lost, and the image stays consistent.
#[test]
fn failed_write_at_every_write() {
    crash_every_write(true, 1, Fault::FailWrite, "failed write");
}

/// Random valid workloads, power cut after / torn at every write (volatile
/// cache).
/// `FLUFFLE_CRASH_RANDOM_SEEDS=N` (default 8, 40 in optimised builds) and `FLUFFLE_CRASH_RANDOM_FIRST`
/// choose the seeds.
#[test]
fn random_workloads_cut_everywhere() {
    let seeds: u64 = std::env::var("FLUFFLE_CRASH_RANDOM_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(if cfg!(debug_assertions) { 8 } else { 40 });
    let first: u64 = std::env::var("FLUFFLE_CRASH_RANDOM_FIRST").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let mut failures = Vec::new();
    for seed in first..first + seeds {
        let w = w_random(seed, 100);
        let base = base_for(&w, true);
        let (writes, _) = measure(&w, &base);
        let mut n = 0;
        while n <= writes {
            // Even seeds: power cut after write n; odd: write n torn after
            // 2 blocks.
            let fault = if seed % 2 == 0 { Fault::CutAfter(n) } else { Fault::Tear(n.max(1), 2) };
            if let Err(e) = run_once(&w, &base, fault) {
                failures.push(format!("random workload seed {seed}: {fault:?} of {writes} writes: {e}\nsteps: {:?}", w.steps));
                break;
            }
            n += stride();
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The checker itself: recovering to an empty filesystem after fsyncs, or
/// to a file with foreign content, must be reported.
#[test]
fn checker_detects_lost_and_torn_data() {
    for w in [w_create_write_fsync(), w_overwrite()] {
        let base = base_for(&w, true);
        let mut dev = base.clone();
        let mut t = Tracker::new();
        {
            let mut fs = mount(&mut dev).expect("mount");
            run_steps(&mut fs, &w.steps, &mut t, |_, r, _, _| (*r).map_err(|e| format!("{e:?}"))).expect("steps");
        }
        // Lost: the formatted image.
        let mut empty = mount(base.clone()).expect("mount");
        let found = walk(&mut empty).expect("walk");
        assert!(t.check(&found).is_err(), "{}: losing everything went unnoticed", w.name);
        // Torn: the real result with one byte of one file changed.
        let mut fs = mount(dev.after_power_loss()).expect("mount");
        let mut found = walk(&mut fs).expect("walk");
        assert_eq!(t.check(&found), Ok(()), "{}: the untouched result must pass", w.name);
        let f = found.values_mut().find(|f| f.attr.ftype == FileType::Regular && !f.data.is_empty()).expect("a file");
        f.data[0] ^= 0x55;
        assert!(t.check(&found).is_err(), "{}: a changed byte went unnoticed", w.name);
    }
}

#[test]
fn failing_flush_is_reported() {
    let mut failures = Vec::new();
    for w in workloads() {
        let base = base_for(&w, true);
        let (_, flushes) = measure(&w, &base);
        for f in 1..=flushes {
            if let Err(e) = run_once(&w, &base, Fault::FailFlush(f)) {
                failures.push(format!("{}: flush #{f} of {flushes} failing: {e}", w.name));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "flush failures:\n{}", failures.join("\n"));
}
