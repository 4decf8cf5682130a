//! A minimal IRC client for the ngircd peer: register, join, send and read PRIVMSG lines.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// One IRC connection with a line buffer.
pub struct IrcConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl IrcConn {
    /// Connects, registers as `nick` and joins `channel`, waiting for the end of NAMES.
    pub fn join(addr: &str, nick: &str, channel: &str) -> Result<IrcConn> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connect {addr}"))?;
        stream.set_nodelay(true)?;
        let mut c = IrcConn {
            stream,
            buf: Vec::new(),
        };
        c.write(&format!("NICK {nick}\r\nUSER {nick} 0 * :zchat bench\r\n"))?;
        c.wait_for(" 001 ")?;
        c.write(&format!("JOIN {channel}\r\n"))?;
        c.wait_for(" 366 ")?;
        c.stream.set_nonblocking(true)?;
        Ok(c)
    }

    /// The socket's file descriptor, for `zmq::poll`.
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.stream.as_raw_fd()
    }

    /// Writes a whole string (blocking or not: retries on `WouldBlock`).
    pub fn write(&mut self, s: &str) -> Result<()> {
        let mut rest = s.as_bytes();
        while !rest.is_empty() {
            match self.stream.write(rest) {
                Ok(0) => bail!("IRC connection closed"),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn wait_for(&mut self, needle: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        self.stream
            .set_read_timeout(Some(Duration::from_millis(200)))?;
        loop {
            let mut found = false;
            for line in self.read_lines()? {
                if line.contains(needle) {
                    found = true;
                }
            }
            if found {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("IRC: no {needle:?} within 10 s");
            }
        }
    }

    /// Reads what is available and returns complete lines; answers PINGs.
    pub fn read_lines(&mut self) -> Result<Vec<String>> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => bail!("IRC connection closed by the server"),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    if n < chunk.len() {
                        break;
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&self.buf[start..start + pos])
                .trim_end_matches('\r')
                .to_string();
            start += pos + 1;
            if let Some(arg) = line.strip_prefix("PING ") {
                self.write(&format!("PONG {arg}\r\n"))?;
            } else {
                lines.push(line);
            }
        }
        self.buf.drain(..start);
        Ok(lines)
    }
}

/// The text of a PRIVMSG line, if it is one.
pub fn privmsg_text(line: &str) -> Option<&str> {
    let at = line.find(" PRIVMSG ")?;
    let rest = &line[at + 9..];
    let colon = rest.find(" :")?;
    Some(&rest[colon + 2..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_privmsg() {
        let l = ":s!~s@127.0.0.1 PRIVMSG #bench :m0000000001 hello";
        assert_eq!(privmsg_text(l), Some("m0000000001 hello"));
        assert_eq!(privmsg_text(":srv 001 r1 :Welcome"), None);
    }
}
