//! A small real file system for disk-full tests. Invariant: the tmpfs is mounted for exactly the lifetime of
//! its value (lazily unmounted when dropped), and a test that cannot mount it fails, never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bundle::Device;

/// A tmpfs mounted for the test's lifetime; `.0` is its mount point.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=…`, e.g. `"24m"`) at `path`. Needs root (CI runs as root).
    pub fn mount(path: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        let st = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(path).status();
        assert!(
            st.is_ok_and(|s| s.success()),
            "this test mounts a small tmpfs and needs root (CI runs as root): mount failed"
        );
        Tmpfs(path.to_path_buf())
    }

    /// Grows or shrinks the mounted volume (`remount,size=…`).
    pub fn resize(&self, size: &str) {
        let st = Command::new("mount").args(["-o", &format!("remount,size={size}")]).arg(&self.0).status();
        assert!(st.is_ok_and(|s| s.success()), "remount failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A device whose data directory is a fresh tmpfs of `size` inside its own temporary directory.
pub fn device_on_tmpfs(plugin: serde_json::Value, size: &str) -> (Device, Tmpfs) {
    let mut device = Device::with_plugin(plugin);
    let mount = Tmpfs::mount(&device.dir.path().join("small-disk"), size);
    device.device["dataDir"] = mount.0.to_string_lossy().into_owned().into();
    (device, mount)
}
