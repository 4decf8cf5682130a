//! The deployment's CURVE key pair, on disk.
//!
//! One key pair per deployment: the broker's client port and the proxy's subscriber port
//! prove with it that they are the real server (clients hold its public key), and every
//! zchat-server authenticates with it to the internal ports, whose ZAP handler admits no other
//! key. A key directory holds:
//!
//! - [`SECRET_FILE`] (`zchat.key`, mode 0600): the secret key, 40 Z85 characters;
//! - [`PUBLIC_FILE`] (`zchat.pub`): the public key, 40 Z85 characters — what clients need.
//!
//! `zchat-server keygen --key-dir DIR` writes them ([`generate`]); the binaries load them
//! with `--key-dir DIR` ([`load`]); `--all-in-one` and `zchat demo` create them on first
//! start ([`load_or_generate`]). Every failure names the file.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;
use zchat_protocol::net::{self, CurveKeys, KeyFormatError};

/// Name of the secret key file in a key directory.
pub const SECRET_FILE: &str = "zchat.key";
/// Name of the public key file in a key directory.
pub const PUBLIC_FILE: &str = "zchat.pub";

/// What went wrong with a key directory; each names the file.
#[derive(Debug, Error)]
pub enum KeyError {
    /// A key file is not there.
    #[error("no key file {}: create the deployment's keys with `zchat-server keygen --key-dir {}`", .path.display(), dir_of(.path).display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A key file exists but cannot be read.
    #[error("cannot read the key file {}", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A key file does not hold one Z85 key.
    #[error("the key file {} is malformed: {reason}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: KeyFormatError,
    },
    /// The public key file does not belong to the secret key.
    #[error("the public key in {} does not match the secret key in {}", .public.display(), .secret.display())]
    Mismatch {
        /// The public key file.
        public: PathBuf,
        /// The secret key file.
        secret: PathBuf,
    },
    /// `keygen` never overwrites a key pair.
    #[error("{} already exists: refusing to overwrite the deployment's keys (remove both files first to make new ones; every client then needs the new public key)", .path.display())]
    Exists {
        /// The file already there.
        path: PathBuf,
    },
    /// A key file cannot be written.
    #[error("cannot write the key file {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// libzmq could not make or check a key (CURVE unavailable).
    #[error("CURVE key operation failed: {0}")]
    Curve(zmq::Error),
}

fn dir_of(path: &Path) -> &Path {
    path.parent().unwrap_or(path)
}

/// The secret and public key files of `dir`.
pub fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(SECRET_FILE), dir.join(PUBLIC_FILE))
}

/// Creates a new key pair in `dir` (created if missing): the secret key file with mode 0600,
/// then the public one. Refuses if either file exists.
pub fn generate(dir: &Path) -> Result<CurveKeys, KeyError> {
    let (secret_path, public_path) = paths(dir);
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(KeyError::Exists { path: path.clone() });
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let keys = CurveKeys::generate().map_err(KeyError::Curve)?;
    write_new(&secret_path, &net::encode_key(&keys.secret), 0o600)?;
    if let Err(e) = write_new(&public_path, &keys.public_z85(), 0o644) {
        // Never leave half a pair: a lone secret file would make `load` ask for keygen and
        // keygen refuse to overwrite it. The secret file is ours: `create_new` made it.
        let _ = std::fs::remove_file(&secret_path);
        return Err(e);
    }
    Ok(keys)
}

/// Writes a new file (never replacing one) with `mode` from the start, so the secret is
/// never readable by others, not even for a moment.
fn write_new(path: &Path, z85: &str, mode: u32) -> Result<(), KeyError> {
    let err = |source| KeyError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::Exists {
                path: path.to_path_buf(),
            },
            _ => err(source),
        })?;
    writeln!(file, "{z85}").map_err(err)?;
    file.sync_all().map_err(err)
}

/// Loads the pair of `dir`, checking both files and that they belong together.
pub fn load(dir: &Path) -> Result<CurveKeys, KeyError> {
    let (secret_path, public_path) = paths(dir);
    let secret = read_key(&secret_path)?;
    let public = read_key(&public_path)?;
    if let Ok(meta) = std::fs::metadata(&secret_path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = %secret_path.display(),
                "the secret key file is readable by other users: chmod 600 it"
            );
        }
    }
    if public_of(&secret)? != public {
        return Err(KeyError::Mismatch {
            public: public_path,
            secret: secret_path,
        });
    }
    Ok(CurveKeys { public, secret })
}

/// Loads the pair of `dir`, creating it first if neither file exists (`--all-in-one`,
/// `zchat demo`).
pub fn load_or_generate(dir: &Path) -> Result<CurveKeys, KeyError> {
    let (secret_path, public_path) = paths(dir);
    if !secret_path.exists() && !public_path.exists() {
        let keys = generate(dir)?;
        tracing::info!(
            dir = %dir.display(),
            public_key = %keys.public_z85(),
            "created the deployment's CURVE key pair"
        );
        return Ok(keys);
    }
    load(dir)
}

/// Reads only the public key of `dir` (what a client, e.g. the health check, needs).
pub fn load_public(dir: &Path) -> Result<[u8; 32], KeyError> {
    read_key(&dir.join(PUBLIC_FILE))
}

fn read_key(path: &Path) -> Result<[u8; 32], KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => KeyError::Missing {
            path: path.to_path_buf(),
        },
        _ => KeyError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
    })?;
    net::decode_key(&text).map_err(|reason| KeyError::Malformed {
        path: path.to_path_buf(),
        reason,
    })
}

/// The public key belonging to `secret` (libzmq's `zmq_curve_public`).
#[allow(unsafe_code)]
fn public_of(secret: &[u8; 32]) -> Result<[u8; 32], KeyError> {
    let secret_z85 = std::ffi::CString::new(net::encode_key(secret))
        .map_err(|_| KeyError::Curve(zmq::Error::EINVAL))?;
    let mut public_z85 = [0u8; 41];
    // SAFETY: `public_z85` has room for 40 characters and the terminating NUL, as
    // zmq_curve_public requires; `secret_z85` is a NUL-terminated 40-character string that
    // outlives the call.
    let rc = unsafe {
        zmq_sys::zmq_curve_public(
            public_z85.as_mut_ptr().cast::<libc::c_char>(),
            secret_z85.as_ptr(),
        )
    };
    if rc != 0 {
        // SAFETY: zmq_errno reads libzmq's thread-local errno; no arguments.
        return Err(KeyError::Curve(zmq::Error::from_raw(unsafe {
            zmq_sys::zmq_errno()
        })));
    }
    let text =
        std::str::from_utf8(&public_z85[..40]).map_err(|_| KeyError::Curve(zmq::Error::EINVAL))?;
    net::decode_key(text).map_err(|_| KeyError::Curve(zmq::Error::EINVAL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_loads_back_and_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = generate(dir.path()).expect("keygen");
        let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
            .expect("secret file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let public = std::fs::read_to_string(dir.path().join(PUBLIC_FILE)).expect("pub");
        assert_eq!(public.trim(), made.public_z85());
        assert_eq!(public.trim().len(), 40);
        assert_eq!(load(dir.path()).expect("load"), made);
        assert!(matches!(generate(dir.path()), Err(KeyError::Exists { .. })));
        assert_eq!(load_or_generate(dir.path()).expect("reuse"), made);
    }

    #[test]
    fn a_public_key_of_another_pair_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        generate(dir.path()).expect("keygen");
        let other = CurveKeys::generate().expect("pair");
        std::fs::write(dir.path().join(PUBLIC_FILE), other.public_z85()).expect("write");
        assert!(matches!(load(dir.path()), Err(KeyError::Mismatch { .. })));
    }

    #[test]
    fn malformed_and_missing_files_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = load(dir.path()).expect_err("missing");
        assert!(e.to_string().contains("zchat.key"), "{e}");
        assert!(e.to_string().contains("keygen"), "{e}");
        std::fs::write(dir.path().join(SECRET_FILE), "too short").expect("write");
        let e = load(dir.path()).expect_err("malformed");
        assert!(matches!(e, KeyError::Malformed { .. }), "{e}");
        assert!(e.to_string().contains("zchat.key"), "{e}");
    }
}
