//! The ZAP handler (ZeroMQ RFC 27): decides which CURVE peers a process's sockets admit.
//!
//! With a handler bound on `inproc://zeromq.zap.01` in a context, libzmq asks it about every
//! CURVE handshake of that context's server sockets, passing the socket's ZAP domain and the
//! peer's public key. This one answers by domain (the *stonehouse* and *ironhouse* patterns):
//!
//! - [`ZAP_DOMAIN_CLIENTS`] (broker frontend, proxy XPUB): any key, 200. The server is
//!   authenticated to the client by its key; the user by login and tokens.
//! - [`ZAP_DOMAIN_SERVERS`] (broker backend, proxy XSUB): 200 only for the deployment's
//!   public key, which only zchat-servers hold; 400 for any other key.
//! - Anything else (another domain or mechanism): 400.
//!
//! A handshake the handler refuses fails: that peer never sends or receives a message. If
//! the handler thread were gone, handshakes fail too, never open up: left to itself libzmq
//! 4.3 admits any CURVE client when no handler answers, so every CURVE server socket sets
//! `ZMQ_ZAP_ENFORCE_DOMAIN` (`zchat_protocol::net::socket`).

use std::thread::JoinHandle;

use anyhow::{Context, Result};
use zchat_protocol::net::{self, ZAP_DOMAIN_CLIENTS, ZAP_DOMAIN_SERVERS};

use crate::shutdown::Shutdown;

/// Where libzmq looks for the handler of a context (RFC 27).
const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// A running ZAP handler; stopped (and its thread joined) when dropped.
pub struct ZapHandler {
    stop: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl ZapHandler {
    /// Binds the handler in `ctx` (one per context) and answers on a thread of its own,
    /// admitting `deployment_key` on the internal sockets.
    pub fn start(ctx: &zmq::Context, deployment_key: [u8; 32]) -> Result<ZapHandler> {
        let socket = ctx.socket(zmq::REP).context("ZAP socket")?;
        socket.set_linger(0).context("ZAP socket")?;
        socket
            .bind(ZAP_ENDPOINT)
            .context("binding the ZAP handler (one per process)")?;
        let stop = Shutdown::new();
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("zap".into())
            .spawn(move || serve(&socket, &deployment_key, &thread_stop))
            .context("spawn ZAP thread")?;
        Ok(ZapHandler {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ZapHandler {
    fn drop(&mut self) {
        self.stop.trigger();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(socket: &zmq::Socket, deployment_key: &[u8; 32], stop: &Shutdown) {
    let mut refused: u64 = 0;
    while !stop.is_triggered() {
        let mut items = [socket.as_poll_item(zmq::POLLIN)];
        if let Err(e) = net::poll(&mut items, 100) {
            tracing::error!("ZAP handler poll failed: {e}");
            return;
        }
        if !items[0].is_readable() {
            continue;
        }
        let Ok(request) = socket.recv_multipart(zmq::DONTWAIT) else {
            continue;
        };
        let (reply, admitted) = answer(&request, deployment_key);
        if !admitted {
            refused += 1;
            tracing::warn!(
                refused,
                domain = %String::from_utf8_lossy(request.get(2).map_or(&[][..], |d| &d[..])),
                peer = %String::from_utf8_lossy(request.get(3).map_or(&[][..], |a| &a[..])),
                "refused a CURVE peer whose key is not the deployment's"
            );
        }
        if let Err(e) = socket.send_multipart(reply, 0) {
            tracing::error!("ZAP handler cannot answer: {e}");
        }
    }
}

/// The reply to one ZAP request, and whether it admits the peer. Request frames: version,
/// request id, domain, address, identity, mechanism, credentials (RFC 27).
fn answer(request: &[Vec<u8>], deployment_key: &[u8; 32]) -> (Vec<Vec<u8>>, bool) {
    let field = |i: usize| request.get(i).map_or(&[][..], |f| &f[..]);
    let request_id = field(1).to_vec();
    let admitted = field(0) == b"1.0"
        && field(5) == b"CURVE"
        && match field(2) {
            d if d == ZAP_DOMAIN_CLIENTS.as_bytes() => true,
            d if d == ZAP_DOMAIN_SERVERS.as_bytes() => field(6) == deployment_key,
            _ => false,
        };
    let (status, text) = if admitted {
        (&b"200"[..], &b"OK"[..])
    } else {
        (&b"400"[..], &b"key not admitted"[..])
    };
    (
        vec![
            b"1.0".to_vec(),
            request_id,
            status.to_vec(),
            text.to_vec(),
            Vec::new(), // user id
            Vec::new(), // metadata
        ],
        admitted,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(domain: &str, mechanism: &str, key: &[u8]) -> Vec<Vec<u8>> {
        [
            &b"1.0"[..],
            b"7",
            domain.as_bytes(),
            b"127.0.0.1",
            b"",
            mechanism.as_bytes(),
            key,
        ]
        .map(<[u8]>::to_vec)
        .to_vec()
    }

    #[test]
    fn curve_servers_fail_closed_without_a_handler_and_admit_once_it_runs() {
        use zchat_protocol::net::{CurveKeys, Exposure, Security};
        let ctx = zmq::Context::new();
        let deployment = CurveKeys::generate().unwrap();
        let server = Security::CurveServer {
            keys: deployment.clone(),
            zap_domain: ZAP_DOMAIN_SERVERS,
        };
        let router = net::socket(&ctx, zmq::ROUTER, Exposure::Internal, &server).unwrap();
        net::bind(&router, "tcp://127.0.0.1:*").unwrap();
        let endpoint = net::last_endpoint(&router);
        // A worker holding the deployment's own pair: the handler would admit it.
        let client_ctx = zmq::Context::new();
        let worker = Security::CurveClient {
            server_key: deployment.public,
            keys: deployment.clone(),
        };
        let mut dealer =
            net::socket(&client_ctx, zmq::DEALER, Exposure::Internal, &worker).unwrap();
        let monitor = net::monitor(&client_ctx, &dealer, "zap-test").unwrap();
        net::connect(&dealer, &endpoint).unwrap();
        dealer.send("hello", 0).unwrap();
        // No handler in the server's context: the handshake fails (it would be admitted
        // unchecked without ZMQ_ZAP_ENFORCE_DOMAIN), and nothing reaches the server.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let failed = loop {
            assert!(std::time::Instant::now() < deadline, "no handshake outcome");
            if monitor.poll(zmq::POLLIN, 100).unwrap() == 0 {
                continue;
            }
            match net::monitor_event(&monitor.recv_multipart(0).unwrap()) {
                Some(net::EVENT_HANDSHAKE_SUCCEEDED) => break false,
                Some(
                    net::EVENT_HANDSHAKE_FAILED_NO_DETAIL
                    | net::EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | net::EVENT_HANDSHAKE_FAILED_AUTH,
                ) => break true,
                _ => {}
            }
        };
        assert!(
            failed,
            "a CURVE server without a ZAP handler admitted a peer"
        );
        assert_eq!(router.poll(zmq::POLLIN, 0).unwrap(), 0);
        // With the handler running, the worker's next attempt is admitted and its message
        // arrives: the refusal above was the missing handler, not the keys.
        let _zap = ZapHandler::start(&ctx, deployment.public).unwrap();
        assert!(
            router.poll(zmq::POLLIN, 10_000).unwrap() > 0,
            "never admitted"
        );
        let frames = router.recv_multipart(0).unwrap();
        assert_eq!(frames.last().map(Vec::as_slice), Some(&b"hello"[..]));
        net::unmonitor(&mut dealer);
        while monitor.poll(zmq::POLLIN, 0).unwrap() > 0 {
            let _ = monitor.recv_multipart(0);
        }
    }

    #[test]
    fn internal_domain_admits_only_the_deployment_key() {
        let ours = [7u8; 32];
        let theirs = [8u8; 32];
        assert!(answer(&request(ZAP_DOMAIN_CLIENTS, "CURVE", &theirs), &ours).1);
        assert!(answer(&request(ZAP_DOMAIN_SERVERS, "CURVE", &ours), &ours).1);
        let (reply, ok) = answer(&request(ZAP_DOMAIN_SERVERS, "CURVE", &theirs), &ours);
        assert!(!ok);
        assert_eq!(reply[1], b"7");
        assert_eq!(reply[2], b"400");
        assert!(!answer(&request("other", "CURVE", &ours), &ours).1);
        assert!(!answer(&request(ZAP_DOMAIN_SERVERS, "NULL", b""), &ours).1);
    }
}
