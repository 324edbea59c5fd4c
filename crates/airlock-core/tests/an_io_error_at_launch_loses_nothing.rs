//! One launch that meets an I/O error (EIO) loses nothing (issue 7, point 3): builtin serves that launch only,
//! `current` stays the bundle, the fallback page's ready changes nothing, and the bundle serves again once its
//! storage reads again.
//!
//! The EIO is real: the test mounts a tiny FUSE file system over the installed tree (root is available in CI)
//! that shows the same names and sizes (so every `stat` is fine) but answers every read with EIO, as a failing
//! flash chip or a storage stack in trouble does. Unmounting it uncovers the untouched tree again.

mod common;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};

use airlock_core::boot::Ready;
use airlock_testkit::bundle::Dist;
use airlock_testkit::server::TestServer;
use common::Phone;

const FUSE_LOOKUP: u32 = 1;
const FUSE_FORGET: u32 = 2;
const FUSE_GETATTR: u32 = 3;
const FUSE_OPEN: u32 = 14;
const FUSE_READ: u32 = 15;
const FUSE_RELEASE: u32 = 18;
const FUSE_FLUSH: u32 = 25;
const FUSE_INIT: u32 = 26;
const FUSE_OPENDIR: u32 = 27;
const FUSE_READDIR: u32 = 28;
const FUSE_RELEASEDIR: u32 = 29;
const FUSE_ACCESS: u32 = 34;
const FUSE_INTERRUPT: u32 = 36;
const FUSE_BATCH_FORGET: u32 = 42;

/// A node of the fake tree: a directory (children by name) or a file of a size.
struct Node {
    size: u64,
    dir: bool,
    children: BTreeMap<String, u64>,
}

/// A FUSE mount whose files have the names and sizes of `dist` but cannot be read (EIO).
struct EioMount {
    path: PathBuf,
}

impl EioMount {
    fn over(path: &Path, dist: &Dist) -> EioMount {
        let mut nodes: Vec<Node> = vec![
            Node { size: 0, dir: true, children: BTreeMap::new() }, // unused (FUSE node ids start at 1)
            Node { size: 0, dir: true, children: BTreeMap::new() }, // 1: the root
        ];
        for (file, bytes) in &dist.files {
            let mut at = 1u64;
            let parts: Vec<&str> = file.split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                let existing = nodes[at as usize].children.get(*part).copied();
                at = match existing {
                    Some(id) => id,
                    None => {
                        let id = nodes.len() as u64;
                        let size = if last { bytes.len() as u64 } else { 0 };
                        nodes.push(Node { size, dir: !last, children: BTreeMap::new() });
                        nodes[at as usize].children.insert(part.to_string(), id);
                        id
                    }
                };
            }
        }
        let dev = std::fs::OpenOptions::new().read(true).write(true).open("/dev/fuse").expect("/dev/fuse");
        let opts = CString::new(format!("fd={},rootmode=40755,user_id=0,group_id=0", dev.as_raw_fd())).unwrap();
        let target = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: all pointers are valid NUL-terminated strings that outlive the call.
        let rc = unsafe {
            libc::mount(
                c"airlock-eio".as_ptr(),
                target.as_ptr(),
                c"fuse".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                opts.as_ptr().cast(),
            )
        };
        assert_eq!(rc, 0, "mounting FUSE needs root and /dev/fuse: {}", std::io::Error::last_os_error());
        std::thread::spawn(move || serve(dev, &nodes));
        EioMount { path: path.to_path_buf() }
    }
}

impl Drop for EioMount {
    fn drop(&mut self) {
        let target = CString::new(self.path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

fn attr(id: u64, n: &Node) -> Vec<u8> {
    let mut a = Vec::with_capacity(88);
    for v in [id, n.size, n.size.div_ceil(512), 0, 0, 0] {
        a.extend_from_slice(&v.to_ne_bytes());
    }
    let mode = if n.dir { libc::S_IFDIR | 0o755 } else { libc::S_IFREG | 0o644 };
    for v in [0u32, 0, 0, mode, if n.dir { 2 } else { 1 }, 0, 0, 0, 4096, 0] {
        a.extend_from_slice(&v.to_ne_bytes());
    }
    a
}

/// Answers the kernel until the mount goes away.
fn serve(dev: File, nodes: &[Node]) {
    // SAFETY: a duplicate of an open descriptor we own, for the writer side.
    let mut out = unsafe { File::from_raw_fd(libc::dup(dev.as_raw_fd())) };
    let mut dev = dev;
    let mut buf = vec![0u8; (1 << 20) + 4096];
    loop {
        let n = match dev.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) || e.kind() == std::io::ErrorKind::Interrupted => {
                continue;
            }
            Err(_) => return, // ENODEV: unmounted
        };
        if n < 40 {
            return;
        }
        let u32_at = |o: usize| u32::from_ne_bytes(buf[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_ne_bytes(buf[o..o + 8].try_into().unwrap());
        let (opcode, unique, nodeid) = (u32_at(4), u64_at(8), u64_at(16));
        let node = nodes.get(nodeid as usize).filter(|_| nodeid > 0);
        let (error, body): (i32, Vec<u8>) = match opcode {
            FUSE_FORGET | FUSE_BATCH_FORGET | FUSE_INTERRUPT => continue,
            FUSE_INIT => {
                let mut b = Vec::with_capacity(64);
                for v in [7u32, 31, u32_at(48), 0] {
                    b.extend_from_slice(&v.to_ne_bytes());
                }
                b.extend_from_slice(&0u16.to_ne_bytes()); // max_background
                b.extend_from_slice(&0u16.to_ne_bytes()); // congestion_threshold
                b.extend_from_slice(&(128u32 * 1024).to_ne_bytes()); // max_write
                b.extend_from_slice(&1u32.to_ne_bytes()); // time_gran
                b.resize(64, 0);
                (0, b)
            }
            FUSE_LOOKUP => {
                let name = &buf[40..n];
                let name = String::from_utf8_lossy(name.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
                match node.and_then(|d| d.children.get(&name)) {
                    Some(&id) => {
                        let mut b = Vec::with_capacity(128);
                        for v in [id, 0u64, 0, 0] {
                            b.extend_from_slice(&v.to_ne_bytes());
                        }
                        b.extend_from_slice(&[0u8; 8]); // entry_valid_nsec, attr_valid_nsec
                        b.extend_from_slice(&attr(id, &nodes[id as usize]));
                        (0, b)
                    }
                    None => (-libc::ENOENT, Vec::new()),
                }
            }
            FUSE_GETATTR => match node {
                Some(nd) => {
                    let mut b = vec![0u8; 16];
                    b.extend_from_slice(&attr(nodeid, nd));
                    (0, b)
                }
                None => (-libc::ENOENT, Vec::new()),
            },
            FUSE_OPEN | FUSE_OPENDIR => (0, vec![0u8; 16]),
            // The fault: every read of file content fails as a failing storage does.
            FUSE_READ => (-libc::EIO, Vec::new()),
            FUSE_READDIR => (0, Vec::new()),
            FUSE_RELEASE | FUSE_RELEASEDIR | FUSE_FLUSH | FUSE_ACCESS => (0, Vec::new()),
            _ => (-libc::ENOSYS, Vec::new()),
        };
        let mut reply = Vec::with_capacity(16 + body.len());
        reply.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        reply.extend_from_slice(&error.to_ne_bytes());
        reply.extend_from_slice(&unique.to_ne_bytes());
        reply.extend_from_slice(&body);
        if out.write_all(&reply).is_err() {
            // The request was interrupted or the mount is going away; keep serving the others.
        }
    }
}

#[test]
fn an_eio_on_the_serving_tree_serves_builtin_for_one_launch_and_loses_nothing() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let v1 = Dist::small("v1");
    let b = common::install(&agent, &server, &v1, "1.1.0");
    agent.set_next(&b.id).unwrap();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, b.id);
    agent.notify_app_ready(&l.token).unwrap();
    let tree = phone.device.root().join("bundles").join(&b.id);
    let before = phone.db_dump();

    let fault = EioMount::over(&tree, &v1);
    let mut probe = [0u8; 1];
    let err = File::open(tree.join("index.html")).unwrap().read(&mut probe).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "the FUSE mount does not produce EIO");
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, "builtin", "launch served a tree whose files cannot be read: {l:?}");
    assert_eq!(l.path, phone.device.dir.path().join("builtin").to_string_lossy());
    assert_eq!(agent.current().unwrap().bundle.id, b.id, "current moved off the bundle");
    let ready = agent.notify_app_ready(&l.token).unwrap();
    assert!(matches!(ready, Ready::Ignored { .. }), "the fallback page's ready blessed something: {ready:?}");
    drop(fault);

    v1.assert_tree(&tree);
    let after = phone.db_dump();
    let state_row = |dump: &str| dump.lines().skip_while(|l| *l != "state").nth(1).unwrap_or_default().to_string();
    // current, next, last good, the boot record (armed for builtin, then ended by its ready): as they were.
    assert_eq!(state_row(&before), state_row(&after), "the boot state changed");
    assert_eq!(
        before.split("state\n").next(),
        after.split("state\n").next(),
        "a bundle row changed (status, verified, failures)"
    );
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, b.id, "the bundle did not come back once its storage reads again");
}

#[test]
fn an_eio_at_a_new_bundles_first_boot_serves_builtin_once_and_the_bundle_boots_next_time_uncounted() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let v2 = Dist::small("v2");
    let b = common::install(&agent, &server, &v2, "1.2.0");
    agent.set_next(&b.id).unwrap();
    let tree = phone.device.root().join("bundles").join(&b.id);

    // First boot: the full re-hash meets EIO.
    let fault = EioMount::over(&tree, &v2);
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, "builtin", "{l:?}");
    assert_eq!(agent.current().unwrap().bundle.id, b.id, "the new bundle was dropped by one I/O error");
    let ready = agent.notify_app_ready(&l.token).unwrap();
    assert!(matches!(ready, Ready::Ignored { .. }), "{ready:?}");
    // The app is killed before ready this time: the builtin load is never counted against the bundle.
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, "builtin");
    drop(fault);

    let db = rusqlite::Connection::open(phone.device.root().join("state.sqlite3")).unwrap();
    let (status, failures): (String, i64) = db
        .query_row("SELECT status, boot_failures FROM bundles WHERE id = ?1", [&b.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(status, "pending", "the new bundle's status changed");
    assert_eq!(failures, 0, "a boot failure was counted for a launch that never served the bundle");
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, b.id, "the new bundle does not boot once its storage reads again");
    v2.assert_tree(&tree);
    agent.notify_app_ready(&l.token).unwrap();
    assert_eq!(agent.current().unwrap().bundle.status, airlock_core::BundleStatus::Success);
}
