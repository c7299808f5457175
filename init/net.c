/* The network as init sees it: a static configuration from ip= applied through rtnetlink before
 * the engine starts; else the DHCP container's job, whose leases init only watches (addresses
 * appearing on the host's interfaces, in the event loop) and warns about when none came in time. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cmdline.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "loop.h"

static struct watch nl_watch;
static struct timer lease_timer;
static int have_address;

/* Docker's own interfaces get addresses too; they say nothing about the host's network. */
static int engine_iface(const char *name)
{
	return !strcmp(name, "lo") || !strncmp(name, "docker", 6) || !strncmp(name, "br-", 3) ||
	       !strncmp(name, "veth", 4);
}

static void on_netlink(int fd, short rev, void *arg)
{
	(void)rev; (void)arg;
	char buf[8192];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != RTM_NEWADDR)
				continue;
			struct ifaddrmsg *ifa = NLMSG_DATA(h);
			char ifname[IF_NAMESIZE] = "?", addr[INET_ADDRSTRLEN] = "?";
			if (ifa->ifa_family != AF_INET || ifa->ifa_scope != RT_SCOPE_UNIVERSE ||
			    !if_indextoname(ifa->ifa_index, ifname) || engine_iface(ifname))
				continue;
			int len = IFA_PAYLOAD(h);
			for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
				if (a->rta_type == IFA_LOCAL || a->rta_type == IFA_ADDRESS)
					inet_ntop(AF_INET, RTA_DATA(a), addr, sizeof addr);
			info("network: %s has %s/%u", ifname, addr, ifa->ifa_prefixlen);
			have_address = 1;
			timer_cancel(&lease_timer);
		}
	}
}

void net_watch_start(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		warn("network: rtnetlink: %s; leases will not be logged", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	watch_add(&nl_watch, fd, POLLIN, on_netlink, NULL);
}

static void no_lease(void *arg)
{
	(void)arg;
	if (!have_address)
		warn("network: no DHCP lease after %d s; dhcpcd keeps trying (od.dhcp.timeout)", cfg->dhcp_timeout_ms / 1000);
}

void net_lease_deadline(void)
{
	if (!have_address && !lease_timer.when)
		timer_arm(&lease_timer, cfg->dhcp_timeout_ms, no_lease, NULL);
}

static int static_failed;       /* ip= parsed but could not be applied: DHCP instead, unless od.dhcp=0 */

int net_wants_dhcp(void)
{
	return cfg->dhcp >= 0 ? cfg->dhcp : cfg->ip.mode == IP_DHCP || static_failed;  /* od.run: 0 */
}

/* One rtnetlink request, acknowledged (NLM_F_ACK): 0 or -errno from the kernel. */
static int nl_request(int fd, struct nlmsghdr *h)
{
	static unsigned seq;
	h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = ++seq;
	if (send(fd, h, h->nlmsg_len, 0) < 0)
		return -errno;
	char buf[4096];
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 2000) <= 0)
			return -ETIMEDOUT;
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n))
			if (r->nlmsg_seq == seq && r->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	}
}

static void nl_attr(struct nlmsghdr *h, unsigned short type, const void *data, unsigned short len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

union nlmsg {
	struct nlmsghdr h;
	char b[256];
};

/* A fresh request of type with a payload of size bytes; returns the payload. */
static void *nl_start(union nlmsg *m, unsigned short type, unsigned short flags, size_t size)
{
	memset(m, 0, sizeof *m);
	m->h.nlmsg_len = NLMSG_LENGTH(size);
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = flags;
	return NLMSG_DATA(&m->h);
}

static int configure(int fd, unsigned idx)
{
	union nlmsg m;
	const struct ipconf *ip = &cfg->ip;
	int rc;

	struct ifinfomsg *ifi = nl_start(&m, RTM_NEWLINK, 0, sizeof *ifi);
	ifi->ifi_index = (int)idx;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	if ((rc = nl_request(fd, &m.h)) < 0)
		return rc;

	struct ifaddrmsg *ifa = nl_start(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, sizeof *ifa);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)ip->prefix;
	ifa->ifa_index = idx;
	nl_attr(&m.h, IFA_LOCAL, &ip->addr, 4);
	nl_attr(&m.h, IFA_ADDRESS, &ip->addr, 4);
	uint32_t mask = ip->prefix ? htonl(~0u << (32 - ip->prefix)) : 0, bcast = ip->addr | ~mask;
	nl_attr(&m.h, IFA_BROADCAST, &bcast, 4);
	if ((rc = nl_request(fd, &m.h)) < 0 || !ip->gw)
		return rc;

	struct rtmsg *rt = nl_start(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, sizeof *rt);
	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	nl_attr(&m.h, RTA_GATEWAY, &ip->gw, 4);
	nl_attr(&m.h, RTA_OIF, &idx, 4);
	return nl_request(fd, &m.h);
}

/* The interface's index, waiting up to timeout_ms for it. The kernel adds a NIC to sysfs and sends
 * its uevent before it lists it by name, so a NIC seen there may have no index yet; RTM_NEWLINK
 * comes once it is listed, and that is the event waited for here. 0 if it never is. */
static unsigned link_index(const char *name, int timeout_ms)
{
	unsigned idx = if_nametoindex(name);
	if (idx)
		return idx;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (s >= 0)
			close(s);
		return if_nametoindex(name);
	}
	int64_t end = now_ms() + timeout_ms;
	while (!(idx = if_nametoindex(name)) && now_ms() < end) {   /* looked again after the bind */
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			break;
		char buf[8192];
		while (recv(s, buf, sizeof buf, 0) > 0)
			;
	}
	close(s);
	return idx ? idx : if_nametoindex(name);
}

/* The DHCP container would write these; with ip= nobody else will. */
static void write_resolv(void)
{
	char text[256] = "# onlydocker: from ip= on the kernel command line\n", a[INET_ADDRSTRLEN];
	for (int i = 0; i < cfg->ip.ndns; i++) {
		size_t l = strlen(text);
		snprintf(text + l, sizeof text - l, "nameserver %s\n", inet_ntop(AF_INET, &cfg->ip.dns[i], a, sizeof a));
	}
	if (write_file("/run/resolvconf/resolv.conf", text) < 0)
		warn("network: /run/resolvconf/resolv.conf: %s", strerror(errno));
}

int net_static_setup(void)
{
	if (cfg->ip.mode != IP_STATIC)
		return 0;
	int64_t t0 = now_ms();
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN] = "no gateway";
	inet_ntop(AF_INET, &cfg->ip.addr, a, sizeof a);
	if (cfg->ip.gw)
		inet_ntop(AF_INET, &cfg->ip.gw, g, sizeof g);
	/* The NIC's driver loads with coldplug, in the background. */
	unsigned idx = link_index(cfg->ip.dev, 10000);
	if (!idx) {
		static_failed = 1;
		err("network: ip=: no interface %s after 10 s; %s/%d not configured%s", cfg->ip.dev, a, cfg->ip.prefix,
		    net_wants_dhcp() ? "; DHCP instead" : "");
		return -ENODEV;
	}
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int rc = fd < 0 ? -errno : configure(fd, idx);
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		static_failed = 1;
		err("network: ip=: configuring %s with %s/%d via %s: %s%s", cfg->ip.dev, a, cfg->ip.prefix, g, strerror(-rc),
		    net_wants_dhcp() ? "; DHCP instead" : "");
		return rc;
	}
	write_resolv();
	have_address = 1;
	info("network: %s has %s/%d, %s%s (static, from ip=) in %lld ms", cfg->ip.dev, a, cfg->ip.prefix,
	     cfg->ip.gw ? "via " : "", g, (long long)(now_ms() - t0));
	return 0;
}
