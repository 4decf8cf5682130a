//! CURVE or plaintext, for every socket the bench opens and for the raw counterparts.
//!
//! zchat runs over CurveZMQ by default, so the bench measures it that way; `--transport
//! curve,plaintext` adds a second zchat (started with `--plaintext`) and a second raw ZeroMQ
//! counterpart, so CURVE's cost is read in one run. An [`Endpoint`] carries the server's
//! public key with the address: every client socket the bench makes from it is a CURVE client
//! of that server with a fresh ephemeral key pair of its own, as the real client is.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};
use zchat_protocol::net::{self, CurveKeys};

/// How a system under test secures its sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// CurveZMQ: encrypted, the server authenticated by its public key (zchat's default).
    Curve,
    /// No encryption (`--plaintext`): the baseline CURVE's cost is measured against.
    Plaintext,
}

impl Transport {
    /// The name used in the table and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Curve => "curve",
            Transport::Plaintext => "plaintext",
        }
    }
}

/// Where a bench client connects, and the server key it must expect there (`None`:
/// plaintext).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// A `tcp://127.0.0.1:port` address.
    pub addr: String,
    /// The server's CURVE public key.
    pub server_key: Option<[u8; 32]>,
}

impl Endpoint {
    /// `addr`, secured with `server_key` if given.
    pub fn new(addr: String, server_key: Option<[u8; 32]>) -> Endpoint {
        Endpoint { addr, server_key }
    }

    /// The server key in Z85, as the typed client takes it.
    pub fn server_key_z85(&self) -> Option<String> {
        self.server_key.as_ref().map(net::encode_key)
    }

    /// A new, unconnected client socket for this endpoint: linger 0 and, over CURVE, the
    /// server key and a fresh key pair (`ZMQ_CURVE_SERVERKEY`/`PUBLICKEY`/`SECRETKEY`). Set
    /// any other option, then [`Endpoint::connect`].
    pub fn socket(&self, ctx: &zmq::Context, kind: zmq::SocketType) -> Result<zmq::Socket> {
        let s = ctx.socket(kind)?;
        s.set_linger(0)?;
        if let Some(server_key) = &self.server_key {
            curve_client(&s, server_key)?;
        }
        Ok(s)
    }

    /// Connects `s` (made by [`Endpoint::socket`]) here.
    pub fn connect(&self, s: &zmq::Socket) -> Result<()> {
        s.connect(&self.addr)
            .with_context(|| format!("connect {}", self.addr))
    }

    /// [`Endpoint::socket`] then [`Endpoint::connect`].
    pub fn dial(&self, ctx: &zmq::Context, kind: zmq::SocketType) -> Result<zmq::Socket> {
        let s = self.socket(ctx, kind)?;
        self.connect(&s)?;
        Ok(s)
    }
}

/// Makes `s` a CURVE server with `keys` (before it binds). The raw counterparts run no ZAP
/// handler: zchat's only checks a key at the handshake, never per message.
pub fn curve_server(s: &zmq::Socket, keys: &CurveKeys) -> Result<()> {
    s.set_curve_server(true)?;
    s.set_curve_publickey(&keys.public)?;
    s.set_curve_secretkey(&keys.secret)?;
    Ok(())
}

/// Makes `s` a CURVE client of `server_key` with a fresh key pair (before it connects).
pub fn curve_client(s: &zmq::Socket, server_key: &[u8; 32]) -> Result<()> {
    let keys = CurveKeys::generate().context("CURVE key pair")?;
    s.set_curve_serverkey(server_key)?;
    s.set_curve_publickey(&keys.public)?;
    s.set_curve_secretkey(&keys.secret)?;
    Ok(())
}

/// The key files of the raw counterparts' key dir: zchat's names, secret file mode 0600.
const SECRET_FILE: &str = "zchat.key";
const PUBLIC_FILE: &str = "zchat.pub";

/// Creates a key pair for the raw counterparts in `dir` (handed to them with `--key-dir`,
/// so no secret is on a command line).
pub fn write_key_dir(dir: &Path) -> Result<CurveKeys> {
    let keys = CurveKeys::generate().context("CURVE key pair")?;
    for (file, z85, mode) in [
        (SECRET_FILE, net::encode_key(&keys.secret), 0o600),
        (PUBLIC_FILE, keys.public_z85(), 0o644),
    ] {
        let path = dir.join(file);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .with_context(|| format!("create {}", path.display()))?;
        writeln!(f, "{z85}").with_context(|| format!("write {}", path.display()))?;
    }
    Ok(keys)
}

/// Reads the pair [`write_key_dir`] made (in a raw counterpart).
pub fn read_key_dir(dir: &Path) -> Result<CurveKeys> {
    let read = |file: &str| -> Result<[u8; 32]> {
        let path = dir.join(file);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        net::decode_key(&text).with_context(|| format!("{} is not a key", path.display()))
    };
    Ok(CurveKeys {
        public: read(PUBLIC_FILE)?,
        secret: read(SECRET_FILE)?,
    })
}

/// Reads a public key file (zchat's `zchat.pub`, written by `zchat-server keygen`).
pub fn read_public_key(path: &Path) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    net::decode_key(&text).with_context(|| format!("{} is not a key", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_dir_round_trips() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let keys = write_key_dir(dir.path())?;
        assert_eq!(read_key_dir(dir.path())?, keys);
        assert_eq!(read_public_key(&dir.path().join(PUBLIC_FILE))?, keys.public);
        Ok(())
    }

    /// A CURVE ROUTER and a client made from an [`Endpoint`] exchange a message; a
    /// plaintext client of the same server gets nothing.
    #[test]
    fn endpoint_speaks_curve() -> Result<()> {
        let ctx = zmq::Context::new();
        let keys = CurveKeys::generate()?;
        let server = ctx.socket(zmq::ROUTER)?;
        server.set_linger(0)?;
        curve_server(&server, &keys)?;
        server.bind("tcp://127.0.0.1:*")?;
        let addr = server
            .get_last_endpoint()?
            .map_err(|_| anyhow::anyhow!("endpoint"))?;
        let plain = Endpoint::new(addr.clone(), None).dial(&ctx, zmq::DEALER)?;
        plain.send("plain", 0)?;
        let curve = Endpoint::new(addr, Some(keys.public)).dial(&ctx, zmq::DEALER)?;
        curve.send("curve", 0)?;
        server.set_rcvtimeo(5_000)?;
        let frames = server.recv_multipart(0)?;
        assert_eq!(frames.last().map(Vec::as_slice), Some(&b"curve"[..]));
        server.set_rcvtimeo(300)?;
        assert!(server.recv_multipart(0).is_err(), "plaintext got through");
        Ok(())
    }
}
