//! The RS256 signing keys: a 2048-bit RSA pair kept as PEM files in a directory, created on
//! first use (private key readable by the owner only) and reused on every later start.

use crate::errors::{Error, Result};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use std::path::{Path, PathBuf};

use super::ID;

/// The file name of the private key inside the keys directory.
pub const PRIVATE_KEY_FILE: &str = "private.pem";
/// The file name of the public key inside the keys directory.
pub const PUBLIC_KEY_FILE: &str = "public.pem";
/// The size of generated keys, in bits.
pub const KEY_BITS: usize = 2048;

/// The directory used when none is given: `~/micro/keys`.
pub fn default_keys_dir() -> PathBuf {
    dirs::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("micro")
        .join("keys")
}

/// A loaded key pair, ready to sign and verify.
pub(crate) struct Keys {
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
}

/// Loads the pair from `dir`, or generates and saves a new one when the directory holds none.
pub(crate) async fn load_or_create(dir: &Path) -> Result<Keys> {
    let private = dir.join(PRIVATE_KEY_FILE);
    let public = dir.join(PUBLIC_KEY_FILE);
    if !private.exists() || !public.exists() {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || create_missing(&dir))
            .await
            .map_err(|e| Error::internal(ID, format!("key generation stopped: {e}")))??;
    }
    let private_pem = read(&private).await?;
    let public_pem = read(&public).await?;
    let encoding = EncodingKey::from_rsa_pem(&private_pem).map_err(|e| bad_key(&private, e))?;
    let decoding = DecodingKey::from_rsa_pem(&public_pem).map_err(|e| bad_key(&public, e))?;
    Ok(Keys { encoding, decoding })
}

async fn read(path: &Path) -> Result<Vec<u8>> {
    tokio::fs::read(path).await.map_err(|e| {
        Error::internal(
            ID,
            format!("cannot read the key file {}: {e}", path.display()),
        )
    })
}

fn bad_key(path: &Path, e: jsonwebtoken::errors::Error) -> Error {
    Error::internal(
        ID,
        format!(
            "the key file {} is not an RSA PEM key ({e}); remove the keys directory to make a new pair",
            path.display()
        ),
    )
}

/// Makes what is missing: a whole new pair, or only the public half of an existing private key
/// (never replacing a private key that is there).
fn create_missing(dir: &Path) -> Result<()> {
    let io = |what: &str, e: std::io::Error| {
        Error::internal(ID, format!("cannot {what} in {}: {e}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| io("create the keys directory", e))?;
    let private_path = dir.join(PRIVATE_KEY_FILE);
    let key = if private_path.exists() {
        let pem =
            std::fs::read_to_string(&private_path).map_err(|e| io("read the private key", e))?;
        RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| {
            Error::internal(
                ID,
                format!(
                    "the key file {} is not a PKCS#8 RSA key ({e}); remove the keys directory to make a new pair",
                    private_path.display()
                ),
            )
        })?
    } else {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
            .map_err(|e| Error::internal(ID, format!("cannot generate an RSA key: {e}")))?;
        let private_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::internal(ID, format!("cannot encode the private key: {e}")))?;
        write_private(&private_path, private_pem.as_bytes())
            .map_err(|e| io("write the private key", e))?;
        key
    };
    let public_pem = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::internal(ID, format!("cannot encode the public key: {e}")))?;
    std::fs::write(dir.join(PUBLIC_KEY_FILE), public_pem.as_bytes())
        .map_err(|e| io("write the public key", e))?;
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, pem: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(pem)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, pem: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, pem)
}
