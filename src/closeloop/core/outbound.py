"""Where the server may send requests of its own (group robots, outbound webhooks): the guard against SSRF.

An administrator types the address; the server posts to it. Without a guard an address could make the server
call its own admin ports, the database host or a cloud metadata service. Hosts named in
CLOSELOOP_ROBOT_EXTRA_HOSTS (tests' loopback receivers, an intranet relay) are let through as they are;
everything else must be HTTPS to a host whose every address is public (not loopback, private, link-local,
shared, reserved or multicast), checked when the address is saved and again when each request is made, and the
request goes to the address that was checked (no second lookup a DNS answer could change in between).
"""

import http.client
import ipaddress
import socket
import ssl
import urllib.parse

from django.conf import settings
from django.utils.translation import gettext as _


def host_allowed(host: str) -> bool:
    """Whether the settings let the server post to this host whatever its address (CLOSELOOP_ROBOT_EXTRA_HOSTS)."""
    return bool(host) and host.lower() in {h.lower() for h in settings.CLOSELOOP_ROBOT_EXTRA_HOSTS}


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class AddressRefused(Exception):
    pass


def resolve(url: str) -> tuple[urllib.parse.SplitResult, str | None]:
    """The URL's parts and the public address to connect to (None for a host the settings allow as it is).

    Raises AddressRefused with a message an administrator can act on."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise AddressRefused(_("Enter a full address, starting with https://."))
    if host_allowed(host):
        if parts.scheme not in ("http", "https"):
            raise AddressRefused(_("Enter a full address, starting with https://."))
        return parts, None
    if parts.scheme != "https":
        raise AddressRefused(_("Use an https:// address: events carry customer data."))
    try:
        port = parts.port or 443
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as exc:
        # The resolver's own words (errno, English) mean nothing to an administrator; what to check does.
        raise AddressRefused(_("The host %(host)s could not be found: check the address, and that this server can "
                               "look up names on the internet.") % {"host": host}) from exc
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(_public(address) for address in addresses):
        raise AddressRefused(_("%(host)s is not a public address (loopback, private or link-local addresses are "
                               "refused).") % {"host": host})
    return parts, addresses[0]


def address_problem(url: str) -> str | None:
    """Why the server will not post to this address, or None."""
    try:
        resolve(url)
    except AddressRefused as exc:
        return str(exc)
    return None


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the address that was checked, with the certificate checked against the host name."""

    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def connection(url: str, *, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """An unopened connection for `url` and the path (with query) to request; raises AddressRefused."""
    parts, address = resolve(url)
    host, port = parts.hostname, parts.port
    if address is not None:
        conn = _PinnedHTTPSConnection(host, port or 443, address=address, timeout=timeout)
    elif parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return conn, path
