//! Who this device is, as segmentation sees it: a stable random device id, the app's custom id and attributes.
//! Invariant: the device id is created once and never changes for this data directory; attributes are stored
//! on the device only and never sent anywhere by this module.

use std::collections::BTreeMap;

use crate::agent::Agent;
use crate::error::{Error, Result};
use crate::fsutil::FileLock;
use crate::store;

const DEVICE_ID: &str = "device_id";
const CUSTOM_ID: &str = "custom_id";
const ATTRIBUTES: &str = "attributes";

/// Limits on what an app may store as attributes (they live in every check's decision, keep them small).
const MAX_ATTRIBUTES: usize = 64;
const MAX_ATTRIBUTE_BYTES: usize = 256;

/// A random version-4 UUID in lowercase (Capgo's device id shape).
pub fn new_uuid() -> Result<String> {
    let mut b: [u8; 16] = crate::crypto::random_bytes()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

impl Agent {
    /// JS `getDeviceId()`: created on first use and kept for the life of the data directory.
    pub fn device_id(&self) -> Result<String> {
        let mut store = self.store();
        if let Some(id) = store::kv_get(store.read(), DEVICE_ID)? {
            return Ok(id);
        }
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        let fresh = new_uuid()?;
        store.write(|tx| match store::kv_get(tx, DEVICE_ID)? {
            Some(existing) => Ok(existing),
            None => store::kv_set(tx, DEVICE_ID, &fresh).map(|_| fresh.clone()),
        })
    }

    /// JS `setCustomId({customId})`: `""` clears it. Kept across restarts only with `persistCustomId` (Capgo).
    pub fn set_custom_id(&self, custom_id: &str) -> Result<()> {
        let value = (!custom_id.is_empty()).then(|| custom_id.to_string());
        *self.custom_id.lock().unwrap_or_else(|p| p.into_inner()) = value.clone();
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| {
            match (&value, self.config.plugin.persist_custom_id) {
                (Some(v), true) => store::kv_set(tx, CUSTOM_ID, v)?,
                _ => {
                    tx.execute("DELETE FROM kv WHERE key = ?1", [CUSTOM_ID])?;
                }
            }
            Ok(())
        })
    }

    /// The custom id set in this process, or the persisted one.
    pub fn custom_id(&self) -> Result<Option<String>> {
        if let Some(v) = self.custom_id.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(Some(v));
        }
        if !self.config.plugin.persist_custom_id {
            return Ok(None);
        }
        store::kv_get(self.store().read(), CUSTOM_ID)
    }

    /// Airlock `setAttributes({attributes})`: replaces the device's targeting attributes (string key/values).
    pub fn set_attributes(&self, attributes: &BTreeMap<String, String>) -> Result<()> {
        if attributes.len() > MAX_ATTRIBUTES {
            return Err(Error::InvalidRequest(format!("at most {MAX_ATTRIBUTES} attributes may be set")));
        }
        if let Some((k, _)) = attributes
            .iter()
            .find(|(k, v)| k.is_empty() || k.len() > MAX_ATTRIBUTE_BYTES || v.len() > MAX_ATTRIBUTE_BYTES)
        {
            return Err(Error::InvalidRequest(format!(
                "attribute \"{k}\" is empty or longer than {MAX_ATTRIBUTE_BYTES} bytes (keys and values)"
            )));
        }
        let json = serde_json::to_string(attributes).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| store::kv_set(tx, ATTRIBUTES, &json))
    }

    /// Airlock `getAttributes()`.
    pub fn attributes(&self) -> Result<BTreeMap<String, String>> {
        match store::kv_get(self.store().read(), ATTRIBUTES)? {
            Some(json) => Ok(serde_json::from_str(&json).unwrap_or_default()),
            None => Ok(BTreeMap::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_are_version_4_lowercase() {
        let u = super::new_uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(u, u.to_lowercase());
    }
}
