//! `airlock keys new`: a publisher's signing key pair and the app's bundle encryption key. Invariant: secret
//! files are created new (never overwritten) with mode 0600, and only public material is printed.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use airlock_core::Error;
use airlock_core::crypto;
use airlock_core::envelope::Signer;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::Failure;
use crate::args::Args;

pub fn run(mut args: Args) -> Result<Value, Failure> {
    match args.next().as_deref() {
        Some("new") => {
            let dir = PathBuf::from(args.value("out")?.unwrap_or_else(|| "keys".into()));
            let name = args.value("name")?.unwrap_or_else(|| "publisher".into());
            args.finish()?;
            Ok(new_keys(&dir, &name)?)
        }
        _ => Err(Failure::Usage("usage: airlock keys new [--out DIR] [--name NAME]".into())),
    }
}

fn write_new(path: &Path, contents: &str, mode: u32) -> Result<(), Error> {
    let mut f = OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::InvalidRequest(format!("{} already exists; refusing to overwrite a key", path.display()))
        } else {
            Error::io(format!("write {}", path.display()), e)
        }
    })?;
    f.write_all(contents.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| Error::io("write key", e))
}

fn new_keys(dir: &Path, name: &str) -> Result<Value, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let signer = Signer::generate()?;
    let enc: [u8; 32] = crypto::random_bytes()?;
    let public = STANDARD.encode(signer.public_key());
    let sign_path = dir.join(format!("{name}.signing.key"));
    write_new(&sign_path, &format!("{}\n", STANDARD.encode(signer.seed())), 0o600)?;
    write_new(&dir.join(format!("{name}.signing.pub")), &format!("{public}\n"), 0o644)?;
    let enc_path = dir.join(format!("{name}.encryption.key"));
    write_new(&enc_path, &format!("{}\n", STANDARD.encode(enc)), 0o600)?;
    Ok(json!({
        "keyid": signer.key_id(),
        "signing_key": sign_path,
        "public_key": public,
        "encryption_key_file": enc_path,
        "capacitor_config": {
            "trustedKeys": [public],
            "encryptionKey": STANDARD.encode(enc),
        },
        "note": "keep the .signing.key offline; ship trustedKeys and encryptionKey in capacitor.config; to rotate, \
                 add the new public key to trustedKeys alongside the old one, release with both keys, then drop the old",
    }))
}

/// Reads a base64 32-byte key file (signing seed or encryption key).
pub fn read_key32(path: &str) -> Result<[u8; 32], Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("cannot read key file {path}: {e}")))?;
    let bytes =
        STANDARD.decode(text.trim()).map_err(|e| Error::Config(format!("key file {path} is not base64: {e}")))?;
    bytes.try_into().map_err(|_| Error::Config(format!("key file {path} must hold exactly 32 bytes of base64")))
}
