/* The network as init sees it: IPv4 addresses appearing on the host's interfaces, learned from
 * rtnetlink in the event loop (the DHCP lease's moment), and a warning when none came in time.
 * init configures nothing here: the DHCP container does. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "init.h"

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
		warn("network: no DHCP lease after %d s; dhcpcd keeps trying (od.dhcp.timeout)", cfg.dhcp_timeout_ms / 1000);
}

void net_lease_deadline(void)
{
	if (!have_address && !lease_timer.when)
		timer_arm(&lease_timer, cfg.dhcp_timeout_ms, no_lease, NULL);
}
