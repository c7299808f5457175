"""Time (#18): chronyd in the ntp system container sets a clock that starts 25 years wrong (QEMU's
-rtc base=2001-01-01) from an SNTP server on the test's private segment, next to its DHCP server
(dhcpserver.py answers ARP and NTP for the addresses it is given): the lease's server (option 42)
when no document names one, and the document's `ntp.servers` over the lease's. The console says
where the servers come from, the first sync and the step it made. Two boots."""
import os
import re
import tempfile
import time

from dhcpserver import DHCPServer
from harness import DOM0_BANNER, Appliance

LEASE_NTP = '192.0.2.123'       # option 42 of the segment's lease
DOC_NTP = '192.0.2.124'         # the document's
WRONG_CLOCK = ['-rtc', 'base=2001-01-01T00:00:00']
YEARS_20 = 20 * 365 * 86400
SOCKS = tempfile.mkdtemp(prefix='odtime-')
SEG = DHCPServer(os.path.join(SOCKS, 'lease.sock'), ntp=[LEASE_NTP], answer_ntp=[LEASE_NTP, DOC_NTP])
BOOT = {'qemu_args': SEG.qemu_args('52:54:00:12:34:77') + WRONG_CLOCK}


def synced(vm, server):
    """The first sync with server, the step it made (more than 20 years forward), and the guest's
    clock within a minute of this host's afterwards."""
    vm.wait_for(r'time: first sync: chronyd: Selected source %s' % re.escape(server), timeout=300, since=0)
    m = vm.wait_for(r'time: chronyd: System clock wrong by (-?[0-9.]+) seconds', timeout=120, since=0)
    assert float(m.group(1)) > YEARS_20, m.group(0)
    m = vm.wait_for(r'time: chronyd: System clock was stepped by (-?[0-9.]+) seconds; the clock now says (\d{4})-',
                    timeout=120, since=0)
    assert abs(float(m.group(1))) > YEARS_20 and int(m.group(2)) == time.gmtime().tm_year, m.group(0)
    vm.wait_for(DOM0_BANNER, timeout=300, since=0)
    # chronyd's start once panicked the guest under TCG (timesync.c's rx_timestamps_early()); the
    # boot that followed would pass the waits above.
    assert not re.search(r'Kernel panic|Oops', vm.text), vm.init_lines()
    out, _ = vm.run('date +%s', check=True)
    assert abs(int(out.split()[-1]) - time.time()) < 60, out


def test_the_lease_s_ntp_server_sets_a_wrong_clock(vm):
    m = vm.wait_for(r'time: NTP servers from the DHCP lease \(option 42\)', timeout=300, since=0)
    synced(vm, LEASE_NTP)
    assert any(a == LEASE_NTP for a, _ in SEG.ntp_requests), SEG.ntp_requests
    out, _ = vm.run('cat /host/run/ntp/dhcp/eth1.sources', check=True)
    assert out.strip() == 'server %s iburst' % LEASE_NTP, out
    # The hook's chronyc, the engine image's through the dhcp container's read-only bind of it.
    out, _ = vm.run('docker exec dhcp chronyc -n -h /run/ntp/chrony/chronyd.sock sources', check=True)
    assert LEASE_NTP in out, out


def test_the_document_s_servers_win_over_the_lease_s():
    seg = DHCPServer(os.path.join(SOCKS, 'doc.sock'), ntp=[LEASE_NTP], answer_ntp=[LEASE_NTP, DOC_NTP])
    doc = '#cloud-config\nntp:\n  enabled: true\n  servers: [%s]\n' % DOC_NTP
    try:
        with Appliance(config=doc, qemu_args=seg.qemu_args('52:54:00:12:34:78') + WRONG_CLOCK) as vm:
            vm.wait_for(r"time: NTP servers from the configuration's ntp: %s$" % re.escape(DOC_NTP), timeout=300, since=0)
            synced(vm, DOC_NTP)
            # The lease named its own server, and chronyd never asked it.
            out, _ = vm.run('cat /host/run/ntp/dhcp/eth1.sources', check=True)
            assert LEASE_NTP in out, out
            asked = {a for a, _ in seg.ntp_requests}
            assert asked == {DOC_NTP}, seg.ntp_requests
    finally:
        seg.close()
