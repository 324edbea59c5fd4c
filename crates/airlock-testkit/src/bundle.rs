//! Bundle fixtures: generated web-app trees, zips, signed release manifests and device configs.
//! Invariant: everything is deterministic for a given seed, and built with the engine's own formats.

use airlock_core::catalog::ReleasePin;
use airlock_core::crypto;
use airlock_core::envelope::{self, Signer};
use airlock_core::release::{BundleRef, Encryption, NativeRange, RELEASE_PAYLOAD_TYPE, ReleaseManifest};
use airlock_core::unpack::FileEntry;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

/// A web-app tree in memory: sorted `(path, bytes)`.
#[derive(Debug, Clone)]
pub struct Dist {
    pub files: Vec<(String, Vec<u8>)>,
}

/// A tiny deterministic PRNG (xorshift64*), so fixtures need no extra crates.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

impl Dist {
    /// A small app: index.html naming `label`, plus a script and a nested asset.
    pub fn small(label: &str) -> Dist {
        Dist::from_files(&[
            ("index.html", format!("<!doctype html><title>{label}</title><script src=app.js></script>").as_bytes()),
            ("app.js", format!("console.log({label:?});").as_bytes()),
            ("assets/logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ])
    }

    pub fn from_files(files: &[(&str, &[u8])]) -> Dist {
        let mut files: Vec<_> = files.iter().map(|(p, b)| (p.to_string(), b.to_vec())).collect();
        files.sort();
        Dist { files }
    }

    /// `count` files totalling about `total` bytes, half compressible text, half random, in nested folders.
    pub fn generate(count: usize, total: usize, seed: u64) -> Dist {
        let mut rng = Rng::new(seed);
        let per = (total / count.max(1)).max(1);
        let mut files = vec![("index.html".to_string(), b"<!doctype html><title>generated</title>".to_vec())];
        for i in 1..count {
            let path = format!("assets/d{}/f{i}.{}", i % 40, if i % 2 == 0 { "js" } else { "bin" });
            let mut data = vec![0u8; per];
            if i % 2 == 0 {
                for (j, b) in data.iter_mut().enumerate() {
                    *b = b"function f(){return 42;}\n"[j % 25];
                }
            } else {
                rng.fill(&mut data);
            }
            files.push((path, data));
        }
        files.sort();
        Dist { files }
    }

    /// The same tree with one file's bytes changed.
    pub fn with_file(&self, path: &str, bytes: &[u8]) -> Dist {
        let mut files: Vec<_> = self.files.iter().filter(|(p, _)| p != path).cloned().collect();
        files.push((path.to_string(), bytes.to_vec()));
        files.sort();
        Dist { files }
    }

    /// The signed file list of this tree.
    pub fn entries(&self) -> Vec<FileEntry> {
        self.files
            .iter()
            .map(|(p, b)| FileEntry { path: p.clone(), size: b.len() as u64, sha256: sha256_hex(b) })
            .collect()
    }

    /// A deflated zip of the tree (files at the root).
    pub fn zip(&self) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (p, b) in &self.files {
            w.start_file(p.as_str(), opts).expect("zip entry");
            w.write_all(b).expect("zip write");
        }
        w.finish().expect("zip finish").into_inner()
    }

    /// Writes the tree under `dir`.
    pub fn write_to(&self, dir: &Path) {
        for (p, b) in &self.files {
            let path = dir.join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, b).expect("write");
        }
    }

    /// Asserts that `dir` holds exactly this tree, byte for byte.
    pub fn assert_tree(&self, dir: &Path) {
        let mut found = Vec::new();
        collect(dir, dir, &mut found);
        found.sort();
        let want: Vec<_> = self.files.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(found, want, "tree at {} differs", dir.display());
        for (p, b) in &self.files {
            assert!(std::fs::read(dir.join(p)).expect("read") == *b, "{p} differs");
        }
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("entry");
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).expect("prefix").to_string_lossy().into_owned());
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What a publisher produces for one release: the served bundle bytes and the signed manifest envelope.
pub struct Published {
    pub bundle: Vec<u8>,
    pub manifest: ReleaseManifest,
    pub envelope: Vec<u8>,
}

impl Published {
    /// The catalog pin of this release, as `airlock channel` writes it: the envelope's SHA-256 and the display
    /// version.
    pub fn pin(&self) -> ReleasePin {
        ReleasePin { sha256: sha256_hex(&self.envelope), version: Some(self.manifest.version.clone()) }
    }
}

/// Options of `publish`.
pub struct ReleaseSpec<'a> {
    pub app_id: &'a str,
    pub release: u64,
    pub version: &'a str,
    pub bundle_url: &'a str,
    pub platforms: Vec<String>,
    pub native: NativeRange,
    /// Encrypt with this app encryption key.
    pub encrypt_with: Option<[u8; 32]>,
    pub chunk_size: u32,
}

impl<'a> ReleaseSpec<'a> {
    pub fn new(version: &'a str, bundle_url: &'a str) -> Self {
        ReleaseSpec {
            app_id: "com.example.app",
            release: 1,
            version,
            bundle_url,
            platforms: vec![],
            native: NativeRange { min: None, max: None },
            encrypt_with: None,
            chunk_size: 64 * 1024,
        }
    }
}

/// Packs, optionally encrypts, and signs a release of `dist` with `signers`.
pub fn publish(dist: &Dist, spec: &ReleaseSpec<'_>, signers: &[&Signer]) -> Published {
    let zip = dist.zip();
    let (bundle, encryption) = match spec.encrypt_with {
        None => (zip, None),
        Some(app_key) => {
            let bundle_key: [u8; 32] = crypto::random_bytes().expect("rng");
            let prefix: [u8; 19] = crypto::random_bytes().expect("rng");
            let nonce: [u8; 24] = crypto::random_bytes().expect("rng");
            let mut out = Vec::new();
            crypto::encrypt(&bundle_key, &prefix, spec.chunk_size, &zip[..], &mut out).expect("encrypt");
            let enc = Encryption {
                alg: crypto::ALG.into(),
                key_id: "app".into(),
                wrapped_key: crypto::wrap_key(&app_key, &bundle_key, &nonce),
                chunk_size: spec.chunk_size,
            };
            (out, Some(enc))
        }
    };
    let manifest = ReleaseManifest {
        spec: 1,
        app_id: spec.app_id.into(),
        release: spec.release,
        version: spec.version.into(),
        native: spec.native.clone(),
        platforms: spec.platforms.clone(),
        created_at: "2026-11-28T00:00:00Z".into(),
        bundle: BundleRef {
            url: spec.bundle_url.into(),
            size: bundle.len() as u64,
            sha256: sha256_hex(&bundle),
            encryption,
        },
        files: dist.entries(),
        metadata: None,
        compressed_objects: Vec::new(),
    };
    let payload = serde_json::to_vec(&manifest).expect("manifest json");
    let envelope = envelope::sign(RELEASE_PAYLOAD_TYPE, &payload, signers);
    Published { bundle, manifest, envelope }
}

/// A simulated device: a builtin bundle directory and a data directory, plus the config JSON.
pub struct Device {
    pub dir: tempfile::TempDir,
    pub builtin: Dist,
    pub plugin: serde_json::Value,
    pub device: serde_json::Value,
}

impl Device {
    pub fn new() -> Device {
        Device::with_plugin(serde_json::json!({}))
    }

    pub fn with_plugin(plugin: serde_json::Value) -> Device {
        let dir = tempfile::tempdir().expect("tempdir");
        let builtin = Dist::small("builtin");
        builtin.write_to(&dir.path().join("builtin"));
        std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
        let device = serde_json::json!({
            "platform": "android", "appId": "com.example.app", "nativeVersion": "1.0.0", "nativeBuild": "100",
            "osVersion": "14", "builtinDir": dir.path().join("builtin"), "dataDir": dir.path().join("data"),
            "isEmulator": true, "isProd": false
        });
        Device { dir, builtin, plugin, device }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn root(&self) -> PathBuf {
        self.data_dir().join("airlock")
    }

    pub fn config(&self) -> airlock_core::Config {
        airlock_core::Config::from_parts(&self.plugin, &self.device).expect("config")
    }

    /// Writes the simulator's config file and returns its path.
    pub fn write_config(&self) -> PathBuf {
        let p = self.dir.path().join("config.json");
        let v = serde_json::json!({"plugin": self.plugin, "device": self.device});
        std::fs::write(&p, serde_json::to_vec_pretty(&v).expect("json")).expect("write config");
        p
    }
}

impl Default for Device {
    fn default() -> Self {
        Device::new()
    }
}
