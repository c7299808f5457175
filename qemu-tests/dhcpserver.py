"""A DHCP server for one guest NIC, speaking Ethernet frames over QEMU's stream netdev (a unix
socket; each frame is prefixed with its length as 4 big-endian bytes). It gives what QEMU's
restricted user network leaves out of its offers (name servers, a domain), on a private segment
that only the guest and this process share: TEST-NET-1 addresses (192.0.2.0/24), routed nowhere.

    srv = DHCPServer(path)                      # listening before QEMU starts, until close()
    Appliance(qemu_args=srv.qemu_args(mac))     # QEMU connects as the client
    srv.acks                                    # the leases given, as (mac, address)
"""
import os
import socket
import struct
import threading

SERVER_MAC = bytes.fromhex('525400c0ffee')
SERVER_IP = '192.0.2.1'
CLIENT_IP = '192.0.2.15'
DNS_IP = '192.0.2.53'
DOMAIN = b'onlydocker.test'
MAGIC = b'\x63\x82\x53\x63'
DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5


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


def reply_for(frame):
    """The OFFER or ACK answering a client's DISCOVER or REQUEST frame, else None."""
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
            + bytes([15, len(DOMAIN)]) + DOMAIN + b'\xff')
    body = (bytes([2, 1, 6, 0]) + xid + b'\0\0' + flags + bytes(4) + socket.inet_aton(CLIENT_IP)
            + socket.inet_aton(SERVER_IP) + bytes(4) + chaddr + bytes(192) + MAGIC + opts)
    udp_hdr = struct.pack('!HHHH', 67, 68, 8 + len(body), 0)   # no UDP checksum: allowed on IPv4
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp_hdr) + len(body), 0, 0, 64, 17, 0,
                     socket.inet_aton(SERVER_IP), socket.inet_aton('255.255.255.255'))
    ip = ip[:10] + struct.pack('!H', _checksum(ip)) + ip[12:]
    return b'\xff' * 6 + SERVER_MAC + b'\x08\x00' + ip + udp_hdr + body, kind, chaddr[:6]


class DHCPServer:
    def __init__(self, path):
        self.path = path
        self.acks = []
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
                    answer = reply_for(frame)
                    if answer:
                        out, kind, mac = answer
                        conn.sendall(struct.pack('!I', len(out)) + out)
                        if kind == REQUEST:
                            with self._cond:
                                self.acks.append((mac.hex(':'), CLIENT_IP))
                                self._cond.notify_all()

    def close(self):
        self._sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
