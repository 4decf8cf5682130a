//! The server key as the user gives it: `--server-key` / `ZCHAT_SERVER_KEY`, the saved
//! one, or `--plaintext`; checked before anything is sent, with errors that say where the
//! key comes from. Every client run makes a fresh key pair of its own (the client library
//! does): the server key only proves the server is the deployment's.

use zchat_protocol::net::decode_key;

/// Where a server key comes from, for the errors that say it is missing.
pub const HOW_TO_GET_KEY: &str = "the server's operator prints it with \
    `zchat-server public-key --key-dir DIR` (for the Docker Compose stack, the README shows \
    the command); pass it with --server-key KEY or ZCHAT_SERVER_KEY (it is saved \
    with your session), or use --plaintext only for a server started with --plaintext";

/// What `--plaintext` costs, said on stderr whenever it is used.
pub const PLAINTEXT_WARNING: &str = "zchat: warning: --plaintext: CURVE is off, the password, \
    the session token and every message cross the network in clear";

/// The form's shorter sentence for a missing key.
pub const FORM_NO_KEY: &str = "enter the server key: `zchat-server public-key --key-dir DIR` \
    prints it on the server (or start zchat with --plaintext for a plaintext server)";

/// Checks a server key's format (40 Z85 characters) and returns it trimmed; the error
/// names `source` (the flag, or the form's field).
pub fn check(key: &str, source: &str) -> Result<String, String> {
    match decode_key(key) {
        Ok(_) => Ok(key.trim().to_string()),
        Err(e) => Err(format!(
            "{source}: not a server key ({e}); expected the 40-character key that \
             `zchat-server public-key` prints"
        )),
    }
}

/// The key to connect with: `Ok(None)` for `--plaintext` (explicitly), the checked flag
/// (or environment) key, else the saved one; an error saying how to get a key when there
/// is none.
pub fn resolve(
    flag: Option<&str>,
    saved: Option<&str>,
    plaintext: bool,
) -> Result<Option<String>, String> {
    if plaintext {
        return Ok(None);
    }
    if let Some(key) = flag {
        return check(key, "--server-key").map(Some);
    }
    match saved {
        Some(key) => check(key, "the saved server key").map(Some),
        None => Err(format!("no server key: {HOW_TO_GET_KEY}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

    #[test]
    fn the_flag_wins_and_is_checked() {
        assert_eq!(resolve(Some(KEY), None, false), Ok(Some(KEY.to_string())));
        assert_eq!(
            resolve(Some(&format!(" {KEY}\n")), Some("x"), false),
            Ok(Some(KEY.to_string()))
        );
        let e = resolve(Some("short"), None, false).expect_err("malformed");
        assert!(e.contains("--server-key") && e.contains("40"), "{e}");
        assert_eq!(resolve(None, Some(KEY), false), Ok(Some(KEY.to_string())));
        assert_eq!(resolve(Some(KEY), Some(KEY), true), Ok(None));
        let e = resolve(None, None, false).expect_err("nothing");
        assert!(e.contains("zchat-server public-key"), "{e}");
    }
}
