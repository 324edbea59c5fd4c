//! Specification of the data directory's trust model: a symbolic link planted in the agent's layout (the root,
//! `staging/`, `bundles/`, `downloads/`, `objects/` themselves, the database, the root lock, or any entry inside
//! the four directories) is never followed —
//! not by the sweeps at open, not by downloads, deletes or garbage collection. A layout directory that is a link
//! makes `open` refuse with an error naming the path, saying it is a link and what to do; a link inside is
//! removed (its target untouched) or refused, and a delta install never takes one as a source. In every case the link's target ("the victim", outside the root)
//! is byte-for-byte what it was.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use airlock_core::envelope::{self, Signer};
use airlock_core::install::DownloadRequest;
use airlock_core::release::{BundleRef, NativeRange, RELEASE_PAYLOAD_TYPE, ReleaseManifest};
use airlock_core::{Agent, Cancel, Error};
use airlock_testkit::bundle::{Dist, b64, sha256_hex};
use airlock_testkit::server::TestServer;
use airlock_testkit::snapshot::{Node, snapshot};
use common::{Phone, install};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A directory outside the agent root holding what a sweep would remove if it followed a link into it: a tree
/// named like a staging directory, a plaintext `.zip`, a stale object temporary, a bundle-like tree.
struct Victim {
    dir: tempfile::TempDir,
}

impl Victim {
    fn new() -> Victim {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::create_dir_all(p.join("abcdefghijklmnop/js")).unwrap();
        fs::write(p.join("abcdefghijklmnop/js/app.js"), b"precious app code").unwrap();
        fs::write(p.join("abcdefghijklmnop/index.html"), b"<html>precious</html>").unwrap();
        fs::write(p.join("photos.zip"), b"precious photos").unwrap();
        fs::write(p.join("notes.txt"), b"precious notes").unwrap();
        let stale = p.join("stale.part");
        fs::write(&stale, b"precious, and two hours old").unwrap();
        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        fs::File::options().write(true).open(&stale).unwrap().set_modified(two_hours_ago).unwrap();
        let object = p.join("a".repeat(64));
        fs::write(&object, b"precious, named like an object").unwrap();
        fs::File::options().write(true).open(&object).unwrap().set_modified(two_hours_ago).unwrap();
        Victim { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn snapshot(&self) -> BTreeMap<PathBuf, Node> {
        snapshot(self.path(), Path::new(""))
    }
}

fn open(phone: &Phone) -> Result<Agent, Error> {
    Agent::open(phone.device.config(), phone.events.clone(), phone.clock.clone())
}

fn is_link(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn a_layout_directory_that_is_a_link_makes_open_refuse_and_leaves_its_target_as_it_was() {
    for dir in ["", "staging", "bundles", "downloads", "objects", "state.sqlite3", "lock"] {
        let phone = Phone::new(serde_json::json!({}));
        let victim = Victim::new();
        let root = phone.device.root();
        let planted = if dir.is_empty() {
            root.clone()
        } else {
            drop(open(&phone).expect("a clean layout opens"));
            let p = root.join(dir);
            if p.is_dir() { fs::remove_dir(&p) } else { fs::remove_file(&p) }.unwrap();
            p
        };
        if dir.contains('.') || dir == "lock" {
            // The database and the root lock: a link to a file of the victim.
            symlink(victim.file("notes.txt"), &planted).unwrap();
        } else {
            symlink(victim.path(), &planted).unwrap();
        }
        let before = victim.snapshot();

        let err = open(&phone).err().unwrap_or_else(|| panic!("{dir:?}: open must refuse a linked layout"));

        let message = err.to_string();
        assert!(message.contains(&planted.display().to_string()), "{dir:?}: {message:?} names no path");
        assert!(message.contains("is a symbolic link"), "{dir:?}: {message:?} does not say it is a link");
        assert!(message.contains("remove the link"), "{dir:?}: {message:?} says not what to do");
        assert!(!matches!(err, Error::Rejected { .. }), "{dir:?}: a layout problem is no bundle rejection");
        assert_eq!(victim.snapshot(), before, "{dir:?}: the link's target changed");
        assert!(is_link(&planted), "{dir:?}: the agent must not replace what it refuses to trust");
    }
}

#[test]
fn links_planted_inside_the_layout_are_removed_at_open_without_touching_their_targets() {
    let phone = Phone::new(serde_json::json!({}));
    let victim = Victim::new();
    drop(open(&phone).expect("a clean layout opens"));
    let root = phone.device.root();
    let planted = [
        (root.join("staging/abcdefghijklmnop"), victim.file("abcdefghijklmnop")),
        // A dangling lock link: opening it with O_CREAT would create the target.
        (root.join("staging/qrstuvwxyz012345.lock"), victim.file("created-through-a-lock-link")),
        (root.join("staging/qrstuvwxyz012345"), victim.path().to_path_buf()),
        (root.join("downloads/0123456789abcdef01234567.zip"), victim.file("photos.zip")),
        (root.join("downloads/0123456789abcdef01234567.lock"), victim.file("created-through-a-download-lock")),
        (root.join("downloads/fedcba9876543210fedcba98.part"), victim.file("notes.txt")),
        (root.join("bundles/orphan1234"), victim.file("abcdefghijklmnop")),
        (root.join(format!("objects/{}", "a".repeat(64))), victim.file(&"a".repeat(64))),
        (root.join("objects/stale.part"), victim.file("stale.part")),
    ];
    for (link, target) in &planted {
        symlink(target, link).unwrap();
    }
    let before = victim.snapshot();

    let agent = open(&phone).expect("links inside the layout are removed, not refused");

    assert_eq!(victim.snapshot(), before, "a sweep followed a planted link");
    for (link, _) in &planted {
        assert!(!is_link(link), "{} was left in place", link.display());
    }
    assert_eq!(agent.launch().expect("launch").bundle.id, "builtin");
    assert_eq!(victim.snapshot(), before);
}

/// The file name `Agent::download` uses for a manual download of `url` with `checksum`.
fn download_key(url: &str, checksum: &str) -> String {
    let mut h = Sha256::new();
    h.update(url.as_bytes());
    h.update([0]);
    h.update(checksum.as_bytes());
    hex::encode(&h.finalize()[..12])
}

#[test]
fn a_download_never_writes_through_a_link_planted_at_its_part_sidecar_or_lock_path() {
    for suffix in ["part", "json.tmp", "lock"] {
        let server = TestServer::start();
        let phone = Phone::new(serde_json::json!({}));
        let victim = Victim::new();
        let agent = open(&phone).expect("opens");
        let dist = Dist::small("v2");
        let zip = dist.zip();
        server.put_with_etag("/bundles/2.zip", zip.clone(), "\"v2\"");
        let url = server.url("/bundles/2.zip");
        let checksum = sha256_hex(&zip);
        let key = download_key(&url, &checksum);
        let link = phone.device.root().join(format!("downloads/{key}.{suffix}"));
        symlink(victim.file("notes.txt"), &link).unwrap();
        if suffix == "part" {
            // A sidecar that matches, so the download resumes (appends to) the part instead of starting afresh.
            let sidecar = serde_json::json!({"url": url, "sha256": checksum, "size": null, "etag": "\"v2\""});
            fs::write(phone.device.root().join(format!("downloads/{key}.json")), sidecar.to_string()).unwrap();
        }
        let before = victim.snapshot();
        let req = DownloadRequest {
            url: Some(url.clone()),
            version: Some("2.0.0".into()),
            checksum: Some(checksum.clone()),
            ..Default::default()
        };

        let err = agent.download(&req, &Cancel::never()).expect_err(&format!("{suffix}: must not write through"));

        let message = err.to_string();
        assert!(message.contains("is a symbolic link"), "{suffix}: {message:?} does not say it is a link");
        assert!(message.contains(&link.display().to_string()), "{suffix}: {message:?} names not the link");
        assert!(!matches!(err, Error::Rejected { .. }), "{suffix}: a planted link is no defect of the release");
        assert_eq!(victim.snapshot(), before, "{suffix}: the download wrote through the link");
        assert_eq!(phone.bundle_dirs(), Vec::<String>::new(), "{suffix}");
        drop(agent);

        // The next start removes the link; the release then installs normally.
        let agent = open(&phone).expect("reopens");
        assert!(!is_link(&link), "{suffix}: the link survived the next start");
        let info = agent.download(&req, &Cancel::never()).expect("installs once the link is gone");
        dist.assert_tree(&phone.device.root().join("bundles").join(&info.id));
        assert_eq!(victim.snapshot(), before, "{suffix}");
    }
}

#[test]
fn deleting_and_collecting_a_bundle_whose_tree_was_swapped_for_a_link_leaves_the_target_alone() {
    let server = TestServer::start();
    let phone = Phone::new(serde_json::json!({}));
    let victim = Victim::new();
    let agent = open(&phone).expect("opens");
    let one = install(&agent, &server, &Dist::small("one"), "1.0.1");
    let two = install(&agent, &server, &Dist::small("two"), "1.0.2");
    for id in [&one.id, &two.id] {
        let tree = phone.device.root().join("bundles").join(id);
        fs::remove_dir_all(&tree).unwrap();
        symlink(victim.path(), &tree).unwrap();
    }
    let before = victim.snapshot();

    agent.delete(&one.id).expect("delete");
    assert_eq!(victim.snapshot(), before, "delete followed the link");
    drop(agent);
    // At the next start the other tree is a live bundle's: the link is removed, never served nor followed.
    let agent = open(&phone).expect("reopens");
    assert_eq!(victim.snapshot(), before, "the start-up sweep followed the link");
    assert_eq!(phone.bundle_dirs(), Vec::<String>::new());
    agent.set_next(&two.id).ok();
    let launch = agent.launch().expect("launch");
    assert!(!Path::new(&launch.path).starts_with(victim.path()), "a linked tree was served");
    assert!(!launch.path.contains(&two.id), "a tree swapped for a link was served: {}", launch.path);
    assert_eq!(victim.snapshot(), before);
}

/// Serves a signed release of `dist` (full bundle and per-file objects) and returns its manifest URL.
fn serve_release(server: &TestServer, signer: &Signer, n: u64, dist: &Dist) -> String {
    const APP: &str = "com.example.app";
    let zip = dist.zip();
    server.put(&format!("/{APP}/bundles/{n}.zip"), zip.clone());
    for (_, bytes) in &dist.files {
        server.put(&format!("/{APP}/objects/{}", sha256_hex(bytes)), bytes.clone());
    }
    let manifest = ReleaseManifest {
        spec: 1,
        app_id: APP.into(),
        release: n,
        version: format!("1.0.{n}"),
        native: NativeRange { min: None, max: None },
        platforms: vec![],
        created_at: "2026-11-28T00:00:00Z".into(),
        bundle: BundleRef {
            url: format!("../bundles/{n}.zip"),
            size: zip.len() as u64,
            sha256: sha256_hex(&zip),
            encryption: None,
        },
        files: dist.entries(),
        metadata: None,
        compressed_objects: vec![],
    };
    let env = envelope::sign(RELEASE_PAYLOAD_TYPE, &serde_json::to_vec(&manifest).unwrap(), &[signer]);
    server.put(&format!("/{APP}/releases/{n}.json"), env);
    server.url(&format!("/{APP}/releases/{n}.json"))
}

#[test]
fn a_delta_install_never_takes_a_planted_object_link_as_a_source() {
    let server = TestServer::start();
    let signer = Signer::from_seed(&[7u8; 32]);
    let phone = Phone::new(serde_json::json!({
        "catalogUrl": server.url("/"),
        "trustedKeys": [b64(&signer.public_key())],
    }));
    let victim = Victim::new();
    let agent = open(&phone).expect("opens");
    // Shares every builtin file, so the delta path is taken and only `extra.js` is an object to fetch.
    let extra = b"console.log('the new file of release 2');\n".to_vec();
    let dist = phone.device.builtin.with_file("extra.js", &extra);
    let url = serve_release(&server, &signer, 2, &dist);
    // A link named like the object, pointing at a file with the very same bytes outside the root: its hash
    // passes, yet taking it would put a link (or the victim's inode) into the bundle tree.
    fs::write(victim.file("same-bytes.js"), &extra).unwrap();
    let object = phone.device.root().join("objects").join(sha256_hex(&extra));
    symlink(victim.file("same-bytes.js"), &object).unwrap();
    let before = victim.snapshot();

    let info = agent
        .download(&DownloadRequest { manifest_url: Some(url), ..Default::default() }, &Cancel::never())
        .expect("the release installs");

    let tree = phone.device.root().join("bundles").join(&info.id);
    dist.assert_tree(&tree);
    for (path, node) in snapshot(&tree, Path::new("")) {
        assert!(matches!(node, Node::Dir | Node::File(_)), "{} in the bundle tree is {node:?}", path.display());
    }
    assert_eq!(victim.snapshot(), before, "the victim changed");
    assert_eq!(
        server.requests_for(&format!("/com.example.app/objects/{}", sha256_hex(&extra))).len(),
        1,
        "the object must be fetched, not taken from the planted link"
    );
}
