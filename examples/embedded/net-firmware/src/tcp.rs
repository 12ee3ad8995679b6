//! The TCP/IP stack (smoltcp over the virtio NIC, one static IPv4 address) and one TCP
//! connection as an `embedded_io` 0.6 `Read + Write + ReadReady` stream: the interface a
//! device maker's network stack must provide to `node-embedded`.
//!
//! Everything is polled: every stream operation runs the interface, and waiting sleeps on the
//! machine timer in short steps (`clock::sleep_until`), because the NIC's interrupt is not
//! routed (no PLIC set-up; one connection does not need it).

use alloc::rc::Rc;
use alloc::vec;
use core::cell::RefCell;

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

use crate::clock;
use crate::nic::Nic;

/// TCP receive window. The gateway's 14 KB `hello-ok` streams through it; the WebSocket layer
/// above reads it out as it arrives.
const RX_BYTES: usize = 4096;
const TX_BYTES: usize = 2048;
/// Longest single sleep while waiting: the NIC is polled at least this often.
const POLL_STEP_MS: u64 = 2;
/// Bound on a connect and on a flush.
const CONNECT_TIMEOUT_MS: u64 = 5_000;
const FLUSH_TIMEOUT_MS: u64 = 10_000;

/// Why a stream operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpError {
    /// The peer refused or reset the connection, or it was never established.
    Reset,
    /// No connection within `CONNECT_TIMEOUT_MS`, or no flush within `FLUSH_TIMEOUT_MS`.
    TimedOut,
    /// smoltcp rejected the operation (bad state or endpoint).
    Stack,
}

impl embedded_io::Error for TcpError {
    fn kind(&self) -> ErrorKind {
        match self {
            TcpError::Reset => ErrorKind::ConnectionReset,
            TcpError::TimedOut => ErrorKind::TimedOut,
            TcpError::Stack => ErrorKind::Other,
        }
    }
}

/// The interface, its NIC and the one TCP socket the node uses.
pub struct NetStack {
    iface: Interface,
    nic: Nic,
    sockets: SocketSet<'static>,
    handle: SocketHandle,
}

fn now() -> Instant {
    Instant::from_millis(clock::now_ms() as i64)
}

impl NetStack {
    /// Brings the interface up with `addr/prefix` on the NIC's MAC.
    pub fn new(mut nic: Nic, addr: Ipv4Address, prefix: u8) -> Self {
        let config = Config::new(HardwareAddress::Ethernet(EthernetAddress(nic.mac())));
        let mut iface = Interface::new(config, &mut nic, now());
        iface.update_ip_addrs(|addrs| {
            // Capacity is IFACE_MAX_ADDR_COUNT (>= 1); the list is empty here.
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(addr), prefix));
        });
        let socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; RX_BYTES]),
            tcp::SocketBuffer::new(vec![0; TX_BYTES]),
        );
        let mut sockets = SocketSet::new(vec![]);
        let handle = sockets.add(socket);
        Self {
            iface,
            nic,
            sockets,
            handle,
        }
    }

    fn poll(&mut self) {
        self.iface.poll(now(), &mut self.nic, &mut self.sockets);
    }

    /// Sleeps until smoltcp has a timer due or `POLL_STEP_MS`, whichever is first.
    fn idle(&mut self) {
        let t = now();
        let delay = self
            .iface
            .poll_delay(t, &self.sockets)
            .map_or(POLL_STEP_MS, |d| d.total_millis());
        clock::sleep_until(clock::now_ms().saturating_add(delay), POLL_STEP_MS);
    }

    fn socket(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(self.handle)
    }

    /// Opens a TCP connection to `remote:port` from `local_port` and waits until it is
    /// established. Any previous connection on the socket is aborted first.
    pub fn connect(
        this: &Rc<RefCell<Self>>,
        remote: Ipv4Address,
        port: u16,
        local_port: u16,
    ) -> Result<TcpStream, TcpError> {
        let mut me = this.borrow_mut();
        me.socket().abort();
        me.poll();
        let me = &mut *me;
        let cx = me.iface.context();
        let socket = me.sockets.get_mut::<tcp::Socket<'static>>(me.handle);
        socket
            .connect(cx, (IpAddress::Ipv4(remote), port), local_port)
            .map_err(|_| TcpError::Stack)?;
        // A dead gateway is noticed within keep-alive + timeout even when the node is silent.
        socket.set_keep_alive(Some(Duration::from_secs(10)));
        socket.set_timeout(Some(Duration::from_secs(30)));
        socket.set_nagle_enabled(false);
        let deadline = clock::now_ms().saturating_add(CONNECT_TIMEOUT_MS);
        loop {
            me.poll();
            match me.socket().state() {
                tcp::State::Established => {
                    return Ok(TcpStream {
                        stack: Rc::clone(this),
                        closed: false,
                    });
                }
                tcp::State::Closed => return Err(TcpError::Reset),
                _ => {}
            }
            if clock::now_ms() >= deadline {
                me.socket().abort();
                me.poll();
                return Err(TcpError::TimedOut);
            }
            me.idle();
        }
    }

    /// Runs the stack once and sleeps until it has a timer due, at most `max_ms`: the main
    /// loop's wait between driver steps.
    pub fn poll_and_wait(&mut self, max_ms: u64) {
        self.poll();
        let t = now();
        let delay = self
            .iface
            .poll_delay(t, &self.sockets)
            .map_or(max_ms, |d| d.total_millis());
        clock::sleep_until(clock::now_ms().saturating_add(delay), max_ms);
    }
}

/// An established TCP connection. Dropping it aborts the connection (RST), which is what a
/// node wants when it gives up on a gateway; a graceful close goes through [`TcpStream::close`].
pub struct TcpStream {
    stack: Rc<RefCell<NetStack>>,
    /// `close` ran: the socket is finishing gracefully, `drop` leaves it alone.
    closed: bool,
}

impl TcpStream {
    /// Sends FIN and puts it on the wire; the stack finishes the close in the background (the
    /// next `connect` aborts whatever is left of it).
    pub fn close(mut self) {
        {
            let mut stack = self.stack.borrow_mut();
            stack.socket().close();
            stack.poll();
        }
        self.closed = true;
    }
}

impl NetStack {
    /// The state is "peer has finished sending" (EOF) rather than a reset.
    fn peer_closed(&mut self) -> bool {
        matches!(
            self.socket().state(),
            tcp::State::CloseWait
                | tcp::State::LastAck
                | tcp::State::Closing
                | tcp::State::TimeWait
        )
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        if let Ok(mut stack) = self.stack.try_borrow_mut() {
            stack.socket().abort();
            stack.poll();
        }
    }
}

impl ErrorType for TcpStream {
    type Error = TcpError;
}

impl Read for TcpStream {
    /// Blocks until at least one byte is there; `Ok(0)` at the peer's FIN.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TcpError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut stack = self.stack.borrow_mut();
        loop {
            stack.poll();
            let socket = stack.socket();
            if socket.can_recv() {
                return socket.recv_slice(buf).map_err(|_| TcpError::Stack);
            }
            if !socket.may_recv() {
                return if stack.peer_closed() {
                    Ok(0)
                } else {
                    Err(TcpError::Reset)
                };
            }
            stack.idle();
        }
    }
}

impl ReadReady for TcpStream {
    /// True when a `read` would not block: data is buffered, or the connection has ended.
    fn read_ready(&mut self) -> Result<bool, TcpError> {
        let mut stack = self.stack.borrow_mut();
        stack.poll();
        let socket = stack.socket();
        Ok(socket.can_recv() || !socket.may_recv())
    }
}

impl Write for TcpStream {
    /// Blocks until at least one byte fits in the send buffer.
    fn write(&mut self, buf: &[u8]) -> Result<usize, TcpError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut stack = self.stack.borrow_mut();
        loop {
            stack.poll();
            let socket = stack.socket();
            if !socket.may_send() {
                return Err(TcpError::Reset);
            }
            if socket.can_send() {
                let n = socket.send_slice(buf).map_err(|_| TcpError::Stack)?;
                stack.poll();
                return Ok(n);
            }
            stack.idle();
        }
    }

    /// Waits until the peer has acknowledged everything written (smoltcp keeps unacknowledged
    /// bytes in the send queue), bounded by `FLUSH_TIMEOUT_MS`.
    fn flush(&mut self) -> Result<(), TcpError> {
        let deadline = clock::now_ms().saturating_add(FLUSH_TIMEOUT_MS);
        let mut stack = self.stack.borrow_mut();
        loop {
            stack.poll();
            let socket = stack.socket();
            if socket.send_queue() == 0 {
                return Ok(());
            }
            if !socket.may_send() {
                return Err(TcpError::Reset);
            }
            if clock::now_ms() >= deadline {
                return Err(TcpError::TimedOut);
            }
            stack.idle();
        }
    }
}
