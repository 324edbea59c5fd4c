//! `airlock release`: pack, hash, (encrypt,) sign and write a release into a static repo. Invariant: published
//! files are immutable and content-addressed; a release number is never rewritten; everything is written to a
//! temporary name and renamed, so a crashed publish leaves no half file under a final name.

use std::path::{Path, PathBuf};

use airlock_core::crypto;
use airlock_core::envelope::{self, Signer};
use airlock_core::release::{BundleRef, Encryption, Metadata, NativeRange, RELEASE_PAYLOAD_TYPE, ReleaseManifest};
use airlock_core::{Error, clock, fsutil};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Failure;
use crate::args::Args;
use crate::keys::read_key32;
use crate::pack;

pub fn run(mut args: Args) -> Result<Value, Failure> {
    let repo = PathBuf::from(args.required("repo")?);
    let version = args.required("version")?;
    let app_id = args.required("app-id")?;
    let mut keys = Vec::new();
    while let Some(k) = args.value("key")? {
        keys.push(k);
    }
    if keys.is_empty() {
        return Err(Failure::Usage("--key FILE (a signing key from `airlock keys new`) is required".into()));
    }
    let encrypt = args.flag("encrypt");
    let enc_key = args.value("encryption-key")?;
    let release = args
        .value("release")?
        .map(|r| r.parse::<u64>())
        .transpose()
        .map_err(|_| Failure::Usage("--release must be a whole number".into()))?;
    let native = NativeRange { min: args.value("native-min")?, max: args.value("native-max")? };
    let platforms: Vec<String> = args
        .value("platforms")?
        .map(|p| p.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let link = args.value("link")?;
    let comment = args.value("comment")?;
    let input = args.next().ok_or_else(|| Failure::Usage("release needs a dist folder or a zip".into()))?;
    args.finish()?;
    let signers: Vec<Signer> =
        keys.iter().map(|k| read_key32(k).map(|seed| Signer::from_seed(&seed))).collect::<Result<_, _>>()?;
    let enc_key = match (encrypt, enc_key) {
        (true, Some(path)) => Some(read_key32(&path)?),
        (true, None) => return Err(Failure::Usage("--encrypt needs --encryption-key FILE".into())),
        (false, Some(_)) => return Err(Failure::Usage("--encryption-key is only used with --encrypt".into())),
        (false, None) => None,
    };
    let opts = ReleaseOptions { app_id, version, release, native, platforms, link, comment, encrypt_with: enc_key };
    Ok(publish(&repo, Path::new(&input), &opts, &signers.iter().collect::<Vec<_>>())?)
}

/// What to publish, besides the tree.
pub struct ReleaseOptions {
    pub app_id: String,
    pub version: String,
    pub release: Option<u64>,
    pub native: NativeRange,
    pub platforms: Vec<String>,
    pub link: Option<String>,
    pub comment: Option<String>,
    pub encrypt_with: Option<[u8; 32]>,
}

/// Writes bundle, objects and the signed manifest into `<repo>/<app_id>/`; returns a summary.
pub fn publish(repo: &Path, input: &Path, o: &ReleaseOptions, signers: &[&Signer]) -> Result<Value, Error> {
    let (packed, _tmp) = pack::pack(input)?;
    let app = repo.join(&o.app_id);
    for d in ["bundles", "objects", "releases", "channels"] {
        std::fs::create_dir_all(app.join(d)).map_err(|e| Error::io(format!("create {}", app.join(d).display()), e))?;
    }
    let number = match o.release {
        Some(n) => n,
        None => latest_release(&app)?.map_or(1, |n| n + 1),
    };
    let manifest_path = app.join("releases").join(format!("{number}.json"));
    if manifest_path.exists() {
        return Err(Error::InvalidRequest(format!(
            "release {number} already exists in {}; releases are immutable, publish a new number",
            app.display()
        )));
    }
    let (served, encryption, ext) = match &o.encrypt_with {
        None => (packed.zip, None, "zip"),
        Some(app_key) => {
            let bundle_key: [u8; 32] = crypto::random_bytes()?;
            let prefix: [u8; 19] = crypto::random_bytes()?;
            let nonce: [u8; 24] = crypto::random_bytes()?;
            let mut out = Vec::with_capacity(packed.zip.len() + packed.zip.len() / 1000 + 64);
            crypto::encrypt(&bundle_key, &prefix, crypto::DEFAULT_CHUNK_SIZE, &packed.zip[..], &mut out)?;
            let enc = Encryption {
                alg: crypto::ALG.into(),
                key_id: hex::encode(&Sha256::digest(app_key)[..8]),
                wrapped_key: crypto::wrap_key(app_key, &bundle_key, &nonce),
                chunk_size: crypto::DEFAULT_CHUNK_SIZE,
            };
            (out, Some(enc), "zip.enc")
        }
    };
    let sha = hex::encode(Sha256::digest(&served));
    let bundle_name = format!("{sha}.{ext}");
    write_unsynced(&app.join("bundles").join(&bundle_name), &served)?;
    // Per-file objects for delta updates; plaintext, so never for encrypted releases. An object is also
    // published deflated when that saves at least a tenth.
    let mut objects_written = 0;
    let mut compressed_objects = Vec::new();
    if o.encrypt_with.is_none() {
        for (entry, src) in packed.files.iter().zip(&packed.sources) {
            let target = app.join("objects").join(&entry.sha256);
            let bytes = std::fs::read(src).map_err(|e| Error::io(format!("read {}", src.display()), e))?;
            if !target.exists() {
                write_unsynced(&target, &bytes)?;
                objects_written += 1;
            }
            let deflated = deflate(&bytes)?;
            if (deflated.len() as u64) * 10 < (bytes.len() as u64) * 9 {
                write_unsynced(&app.join("objects").join(format!("{}.deflate", entry.sha256)), &deflated)?;
                compressed_objects.push(entry.sha256.clone());
            }
        }
        compressed_objects.sort();
        compressed_objects.dedup();
    }
    let metadata = (o.link.is_some() || o.comment.is_some()).then(|| Metadata {
        link: o.link.clone(),
        comment: o.comment.clone(),
        ..Default::default()
    });
    let manifest = ReleaseManifest {
        spec: 1,
        app_id: o.app_id.clone(),
        release: number,
        version: o.version.clone(),
        native: o.native.clone(),
        platforms: o.platforms.clone(),
        created_at: clock::iso8601(clock::Clock::now_ms(&clock::SystemClock)),
        bundle: BundleRef {
            url: format!("../bundles/{bundle_name}"),
            size: served.len() as u64,
            sha256: sha.clone(),
            encryption,
        },
        files: packed.files,
        metadata,
        compressed_objects,
    };
    let payload = serde_json::to_vec(&manifest).map_err(|e| Error::Storage(format!("manifest json: {e}")))?;
    let env = envelope::sign(RELEASE_PAYLOAD_TYPE, &payload, signers);
    if env.len() as u64 > airlock_core::release::MAX_MANIFEST_BYTES {
        return Err(Error::InvalidRequest(format!(
            "the release manifest would be {} bytes, over the {}-byte limit devices accept ({} files); ship fewer \
             files (docs/formats.md)",
            env.len(),
            airlock_core::release::MAX_MANIFEST_BYTES,
            manifest.files.len()
        )));
    }
    // The bundle and objects reach the disk before the manifest that names them (one syncfs, not one fsync each).
    fsutil::sync_tree(&app)?;
    write_immutable(&manifest_path, &env)?;
    Ok(json!({
        "release": number,
        "version": o.version,
        "manifest": manifest_path,
        "manifest_sha256": hex::encode(Sha256::digest(&env)),
        "bundle": {"path": app.join("bundles").join(&bundle_name), "size": served.len(), "sha256": sha},
        "files": manifest.files.len(),
        "objects_written": objects_written,
        "encrypted": o.encrypt_with.is_some(),
        "signed_by": signers.iter().map(|s| s.key_id()).collect::<Vec<_>>(),
    }))
}

/// Raw deflate at the best level (objects are compressed once and fetched many times).
fn deflate(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).map_err(|e| Error::io("deflate", e))?;
    e.finish().map_err(|e| Error::io("deflate", e))
}

/// Highest release number published for an app, if any.
pub fn latest_release(app: &Path) -> Result<Option<u64>, Error> {
    let dir = app.join("releases");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(None) };
    Ok(entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json")?.parse::<u64>().ok())
        .max())
}

/// Writes a content-addressed file under a temporary name and renames it; the caller syncs the tree after.
fn write_unsynced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if path.exists() {
        return Ok(());
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| Error::io(format!("write {}", path.display()), e))
}

/// Writes a content-addressed or immutable file: temp name, fsync, rename; an existing file is left alone.
pub fn write_immutable(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if path.exists() {
        return Ok(());
    }
    fsutil::write_atomic(path, bytes)
}
