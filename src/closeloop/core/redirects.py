"""Where a page may send someone back to after a post: only to this site.

A `next` taken from the request is an open redirect unless checked. Testing for a leading "/" is not enough:
browsers read `/\\evil.com` as `//evil.com`, another host. Django's `url_has_allowed_host_and_scheme` knows
those tricks; every view that follows a `next` or a stored link asks here.
"""

from django.utils.http import url_has_allowed_host_and_scheme


def is_safe_target(request, url: str) -> bool:
    """`url` leads to this site (a path, or an absolute URL on the request's own host and scheme)."""
    return bool(url) and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                                         require_https=request.is_secure())


def next_url(request, default: str) -> str:
    """The posted (or queried) `next`, when it is safe; otherwise `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if is_safe_target(request, target) else default
