//! Process limits a broker or proxy needs to hold many clients.
//!
//! Every client connection holds one file descriptor in the broker (its DEALER) and one in
//! the proxy (its SUB). libzmq's own socket cap (`ZMQ_MAX_SOCKETS`, 1,023 per context by
//! default) is not what binds here: a ROUTER or an XPUB is one zmq socket however many peers
//! it has, and the broker's and proxy's contexts hold a handful of sockets each. The open-file
//! limit is what binds, and its soft value is often 1,024 (systemd's default for services,
//! most shells) while the hard value is far higher. So, as nginx's
//! `worker_rlimit_nofile` and Go's runtime do, the backend binaries raise their soft limit
//! to the hard one at start; raising the hard limit itself is the operator's (`LimitNOFILE=`
//! in a systemd unit, `ulimit -Hn`, Docker's `--ulimit nofile=`).

/// The open-file limit (soft, hard) before and after [`raise_fd_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// The soft limit found at start.
    pub before: u64,
    /// The soft limit now in force.
    pub after: u64,
    /// The hard limit (the most the soft one can be raised to without privilege).
    pub hard: u64,
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit (children inherit it).
/// Returns what it found and did; an error only when the limit cannot be read or set.
#[allow(unsafe_code)]
pub fn raise_fd_limit() -> std::io::Result<FdLimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit that outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit read above, its soft value raised to its hard one.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(FdLimit {
        before,
        after: lim.rlim_cur,
        hard: lim.rlim_max,
    })
}

/// [`raise_fd_limit`], logged: the limit in force bounds how many clients `role` can hold.
pub fn raise_fd_limit_logged(role: &str) {
    match raise_fd_limit() {
        Ok(l) if l.after < 4_096 => tracing::warn!(
            soft = l.after,
            hard = l.hard,
            "{role}: the open-file limit allows only about {} client connections; raise the \
             hard limit (LimitNOFILE=, ulimit -Hn, docker --ulimit nofile=) to hold more",
            l.after.saturating_sub(64)
        ),
        Ok(l) if l.after != l.before => tracing::info!(
            from = l.before,
            to = l.after,
            "{role}: open-file limit raised to the hard limit"
        ),
        Ok(l) => tracing::debug!(soft = l.after, hard = l.hard, "{role}: open-file limit"),
        Err(e) => tracing::warn!("{role}: cannot raise the open-file limit: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limit_ends_at_the_hard_limit() {
        let l = raise_fd_limit().expect("getrlimit/setrlimit");
        assert_eq!(l.after, l.hard);
        assert!(l.after >= l.before);
        // Idempotent.
        assert_eq!(raise_fd_limit().expect("second call").before, l.hard);
    }
}
