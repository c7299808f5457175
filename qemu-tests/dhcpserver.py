"""A DHCP server for one guest NIC, speaking Ethernet frames over QEMU's stream netdev (a unix
socket; each frame is prefixed with its length as 4 big-endian bytes). It gives what QEMU's
restricted user network leaves out of its offers (name servers, a domain), on a private segment
that only the guest and this process share: TEST-NET-1 addresses (192.0.2.0/24), routed nowhere.

    srv = DHCPServer(path)                      # listening before QEMU starts, until close()
    Appliance(qemu_args=srv.qemu_args(mac))     # QEMU connects as the client
    srv.acks                                    # the leases given, as (mac, address)

With ntp=(ADDRESS...), the lease names those NTP servers (option 42); with answer_ntp=(ADDRESS...)
(default: ntp's), the server also answers ARP for those addresses and SNTP (RFC 4330) requests sent
to them with this host's clock, counting each request in srv.ntp_requests as (address, when).
"""
import os
import socket
import struct
import threading
import time

SERVER_MAC = bytes.fromhex('525400c0ffee')
SERVER_IP = '192.0.2.1'
CLIENT_IP = '192.0.2.15'
DNS_IP = '192.0.2.53'
DOMAIN = b'onlydocker.test'
MAGIC = b'\x63\x82\x53\x63'
DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5
NTP_EPOCH = 2208988800          # 1900-01-01 to 1970-01-01 in seconds


def _checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def _options(raw):
    """DHCP options as {code: bytes}, from the bytes after the magic cookie."""
    opts, i = {}, 0
    while i < len(raw) and raw[i] != 255:
        if raw[i] == 0:
            i += 1
            continue
        if i + 1 >= len(raw):
            break
        code, n = raw[i], raw[i + 1]
        opts[code] = raw[i + 2:i + 2 + n]
        i += 2 + n
    return opts


def reply_for(frame, ntp=()):
    """The OFFER or ACK answering a client's DISCOVER or REQUEST frame, else None; ntp: the NTP
    servers it names (option 42)."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b'\x08\x00':
        return None
    ihl = (frame[14] & 0x0f) * 4
    if frame[14 + 9] != 17:
        return None
    udp = 14 + ihl
    sport, dport = struct.unpack('!HH', frame[udp:udp + 4])
    if (sport, dport) != (68, 67):
        return None
    bootp = frame[udp + 8:]
    if bootp[0] != 1 or bootp[236:240] != MAGIC:
        return None
    kind = _options(bootp[240:]).get(53, b'\0')[0]
    if kind not in (DISCOVER, REQUEST):
        return None
    xid, flags, chaddr = bootp[4:8], bootp[10:12], bootp[28:44]
    opts = (bytes([53, 1, OFFER if kind == DISCOVER else ACK])
            + bytes([54, 4]) + socket.inet_aton(SERVER_IP)
            + bytes([51, 4]) + struct.pack('!I', 3600)
            + bytes([1, 4]) + socket.inet_aton('255.255.255.0')
            + bytes([6, 4]) + socket.inet_aton(DNS_IP)
            + bytes([15, len(DOMAIN)]) + DOMAIN
            + (bytes([42, 4 * len(ntp)]) + b''.join(socket.inet_aton(a) for a in ntp) if ntp else b'')
            + b'\xff')
    body = (bytes([2, 1, 6, 0]) + xid + b'\0\0' + flags + bytes(4) + socket.inet_aton(CLIENT_IP)
            + socket.inet_aton(SERVER_IP) + bytes(4) + chaddr + bytes(192) + MAGIC + opts)
    udp_hdr = struct.pack('!HHHH', 67, 68, 8 + len(body), 0)   # no UDP checksum: allowed on IPv4
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp_hdr) + len(body), 0, 0, 64, 17, 0,
                     socket.inet_aton(SERVER_IP), socket.inet_aton('255.255.255.255'))
    ip = ip[:10] + struct.pack('!H', _checksum(ip)) + ip[12:]
    return b'\xff' * 6 + SERVER_MAC + b'\x08\x00' + ip + udp_hdr + body, kind, chaddr[:6]


def arp_reply(frame, addrs):
    """The reply to an ARP request for one of addrs (this server's MAC), else None."""
    if len(frame) < 42 or frame[12:14] != b'\x08\x06' or frame[14:22] != b'\x00\x01\x08\x00\x06\x04\x00\x01':
        return None
    sha, spa, tpa = frame[22:28], frame[28:32], frame[38:42]
    if socket.inet_ntoa(tpa) not in addrs:
        return None
    return sha + SERVER_MAC + b'\x08\x06' + b'\x00\x01\x08\x00\x06\x04\x00\x02' + SERVER_MAC + tpa + sha + spa


def _ntp_time(t):
    return struct.pack('!II', int(t) + NTP_EPOCH, int((t % 1) * (1 << 32)) & 0xffffffff)


def ntp_reply(frame, addrs, now=time.time):
    """(the SNTP server's reply, the address asked) for a client's request to one of addrs, else None:
    stratum 1, this host's clock, the request's transmit time as the reply's origin (chronyd
    matches on it)."""
    if len(frame) < 14 + 20 + 8 + 48 or frame[12:14] != b'\x08\x00' or frame[14 + 9] != 17:
        return None
    ihl = (frame[14] & 0x0f) * 4
    src, dst = frame[14 + 12:14 + 16], frame[14 + 16:14 + 20]
    udp = 14 + ihl
    sport, dport = struct.unpack('!HH', frame[udp:udp + 4])
    req = frame[udp + 8:udp + 8 + 48]
    if dport != 123 or socket.inet_ntoa(dst) not in addrs or len(req) < 48 or req[0] & 7 != 3:
        return None
    t = now()
    body = (bytes([(req[0] & 0x38) | 4, 1, req[2], 0xec]) + struct.pack('!II', 0, 0x10) + b'GPS\0'
            + _ntp_time(t) + req[40:48] + _ntp_time(t) + _ntp_time(now()))
    udp_hdr = struct.pack('!HHHH', 123, sport, 8 + len(body), 0)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + 8 + len(body), 0, 0, 64, 17, 0, dst, src)
    ip = ip[:10] + struct.pack('!H', _checksum(ip)) + ip[12:]
    return frame[6:12] + SERVER_MAC + b'\x08\x00' + ip + udp_hdr + body, socket.inet_ntoa(dst)


class DHCPServer:
    def __init__(self, path, ntp=(), answer_ntp=None):
        self.path = path
        self.acks = []
        self.ntp = tuple(ntp)
        self.answer_ntp = tuple(self.ntp if answer_ntp is None else answer_ntp)
        self.ntp_requests = []
        self._cond = threading.Condition()
        if os.path.exists(path):
            os.unlink(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(1)
        threading.Thread(target=self._serve, daemon=True).start()

    def qemu_args(self, mac):
        return ['-netdev', 'stream,id=odtest1,server=off,addr.type=unix,addr.path=' + self.path,
                '-device', 'virtio-net-pci,netdev=odtest1,mac=' + mac]

    def _serve(self):
        while True:   # one QEMU after another (a test file's shared boot may be restarted)
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._serve_one(conn)

    def _serve_one(self, conn):
        buf = b''
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while len(buf) >= 4:
                    n = struct.unpack('!I', buf[:4])[0]
                    if len(buf) < 4 + n:
                        break
                    frame, buf = buf[4:4 + n], buf[4 + n:]
                    if self.answer_ntp:
                        self._answer_ntp(conn, frame)
                    answer = reply_for(frame, self.ntp)
                    if answer:
                        out, kind, mac = answer
                        conn.sendall(struct.pack('!I', len(out)) + out)
                        if kind == REQUEST:
                            with self._cond:
                                self.acks.append((mac.hex(':'), CLIENT_IP))
                                self._cond.notify_all()

    def _answer_ntp(self, conn, frame):
        out = arp_reply(frame, self.answer_ntp)
        got = None if out else ntp_reply(frame, self.answer_ntp)
        if got:
            out, asked = got
            with self._cond:
                self.ntp_requests.append((asked, time.time()))
                self._cond.notify_all()
        if out:
            conn.sendall(struct.pack('!I', len(out)) + out)

    def close(self):
        self._sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
