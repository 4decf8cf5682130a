//! How a backend process secures its sockets: CURVE with the deployment's key pair (the
//! default), or plaintext when asked for explicitly. [`Transport`] turns that into the
//! [`Security`] of each socket; [`Endpoints`] is a zmq context whose CURVE servers are
//! guarded by a ZAP handler, so no server socket can exist without one.

use anyhow::Result;
use zchat_protocol::net::{CurveKeys, Security, ZAP_DOMAIN_CLIENTS, ZAP_DOMAIN_SERVERS};

use crate::zap::ZapHandler;

/// The transport security of a deployment.
#[derive(Debug, Clone)]
pub enum Transport {
    /// No encryption (`--plaintext`): for trusted networks and benchmarks only.
    Plaintext,
    /// CurveZMQ with the deployment's key pair.
    Curve(CurveKeys),
}

impl Transport {
    /// The deployment's public key in Z85, when CURVE is on: what clients need.
    pub fn public_key(&self) -> Option<String> {
        match self {
            Transport::Plaintext => None,
            Transport::Curve(keys) => Some(keys.public_z85()),
        }
    }

    /// A socket facing clients (broker frontend, proxy XPUB): any CURVE client is admitted.
    pub fn for_clients(&self) -> Security {
        self.server(ZAP_DOMAIN_CLIENTS)
    }

    /// A socket facing zchat-servers (broker backend, proxy XSUB): only the deployment's key
    /// is admitted.
    pub fn for_servers(&self) -> Security {
        self.server(ZAP_DOMAIN_SERVERS)
    }

    /// A zchat-server's own sockets towards broker and proxy: CURVE clients that
    /// authenticate with the deployment's key pair itself.
    pub fn as_server_peer(&self) -> Security {
        match self {
            Transport::Plaintext => Security::Plaintext,
            Transport::Curve(keys) => Security::CurveClient {
                server_key: keys.public,
                keys: keys.clone(),
            },
        }
    }

    fn server(&self, zap_domain: &'static str) -> Security {
        match self {
            Transport::Plaintext => Security::Plaintext,
            Transport::Curve(keys) => Security::CurveServer {
                keys: keys.clone(),
                zap_domain,
            },
        }
    }
}

/// Most libzmq I/O threads a CURVE context gets (one per core below that).
pub const MAX_CURVE_IO_THREADS: usize = 4;

/// A zmq context for a process's listening sockets (broker, proxy, or both in
/// `--all-in-one`), with its ZAP handler running when CURVE is on.
pub struct Endpoints {
    ctx: zmq::Context,
    transport: Transport,
    _zap: Option<ZapHandler>,
}

impl Endpoints {
    /// A new context; with CURVE, its ZAP handler is bound before any socket exists, and
    /// it gets one libzmq I/O thread per core (up to [`MAX_CURVE_IO_THREADS`]): CURVE
    /// encrypts every message once per connection on that connection's I/O thread, so a
    /// proxy fanning out to many subscribers would otherwise encrypt on one core.
    pub fn new(transport: Transport) -> Result<Endpoints> {
        let ctx = zmq::Context::new();
        let zap = match &transport {
            Transport::Plaintext => None,
            Transport::Curve(keys) => {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                let threads = cores.clamp(1, MAX_CURVE_IO_THREADS);
                ctx.set_io_threads(i32::try_from(threads).unwrap_or(1))?;
                Some(ZapHandler::start(&ctx, keys.public)?)
            }
        };
        Ok(Endpoints {
            ctx,
            transport,
            _zap: zap,
        })
    }

    /// The context to create sockets in.
    pub fn ctx(&self) -> &zmq::Context {
        &self.ctx
    }

    /// The transport its sockets use.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }
}
