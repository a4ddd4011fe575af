"""The main navigation and the settings menu, assembled from the apps' `nav_entries()` hooks.

Groups follow the loop (线索 · 商机 · 报价 · 合同 · 交付与服务 · 复盘 · 设置); a group with no entry the
person may see is left out. An entry hidden is not a permission: every page checks on its own.
"""

import functools
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .hooks import NAV_GROUPS, NavEntry, collect

GROUP_LABELS = {
    "home": _("Today"),
    "leads": _("Leads"),
    "deals": _("Deals"),
    "quotes": _("Quotes"),
    "contracts": _("Contracts"),
    "service": _("Delivery & service"),
    "insights": _("Review"),
    "settings": _("Settings"),
}


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    active: bool


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    links: list[Link]

    @property
    def active(self) -> bool:
        return any(link.active for link in self.links)


@functools.cache
def _entries() -> list[tuple[NavEntry, str]]:
    """Every app's entries with their URLs, in group order and then each entry's order."""
    entries = collect("nav_entries")
    unknown = [entry for entry in entries if entry.group not in NAV_GROUPS]
    if unknown:
        raise ValueError(f"navigation entries in unknown groups: {unknown}")
    entries.sort(key=lambda entry: (NAV_GROUPS.index(entry.group), entry.order))
    return [(entry, reverse(entry.url_name)) for entry in entries]


def menu_for(user, path: str = "") -> list[Group]:
    """The groups this person sees, each with its visible links; the link for `path` marked active."""
    visible = [(entry, url) for entry, url in _entries() if entry.visible(user)]
    # The longest URL that starts the current path is the page we are on ("/leads/pool/" over "/leads/").
    matches = [url for _entry, url in visible if path.startswith(url) and url != "/"]
    current = max(matches, key=len, default=None)
    groups = []
    for key in NAV_GROUPS:
        links = [Link(str(entry.label), url, url == current) for entry, url in visible if entry.group == key]
        if links:
            groups.append(Group(key, str(GROUP_LABELS[key]), links))
    return groups


def start_url(user) -> str:
    """The first page of the navigation this person can see (outside Today and the settings)."""
    for group in menu_for(user):
        if group.key not in ("home", "settings"):
            return group.links[0].url
    return reverse("profile")
