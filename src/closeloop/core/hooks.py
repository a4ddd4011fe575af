"""How an app contributes to the whole without core (or any app below it) knowing it.

Core knows no stage of the loop. Every Closeloop app's `AppConfig` subclasses `LoopApp` and overrides
the hooks it needs; core and the lower apps walk `loop_apps()` (INSTALLED_APPS order, which is the
layer order, lowest first) to assemble what used to be hard-wired: the demo company, `gen-data`, the
worker's schedule, notification kinds, audit action labels, the navigation, the settings menu, the
Today page, the follow-up family's record types, task kinds and reminders, the breakpoint radar's kinds,
the record types that take custom fields, the events outbound webhooks send and the lists people save views
of. Adding an app means
writing its `AppConfig`; nothing below it changes.

Hooks are plain methods returning plain data, so a hook's result can be cached per process and tests
can call one app's hook alone. The project's wiring (settings, urls.py, api.py) is the one place that
names the apps; urls.py and api.py mount what the apps' `urls()` and `api_routers()` return.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import AppConfig, apps

if TYPE_CHECKING:
    from django.db.models import TextChoices

# The navigation groups in loop order; an app's entries name one of these keys. Labels are
# translated where they are rendered (core's navigation). Entries of "home" (the Today page) are
# plain links before the groups; entries of "settings" also make the settings menu.
NAV_GROUPS = ["home", "leads", "deals", "quotes", "contracts", "service", "insights", "settings"]


@dataclass(frozen=True)
class NavEntry:
    """A link in the main navigation (or, with group "settings", in the settings menu)."""

    group: str  # one of NAV_GROUPS
    label: Any  # a lazy translation
    url_name: str  # reversed without arguments
    order: int = 100
    # Who sees the entry; the page itself still checks (an entry hidden is not a permission).
    visible: Callable[[Any], bool] = field(default=lambda user: True)


@dataclass(frozen=True)
class NotificationKind:
    kind: str  # "lead.assigned"
    label: Any
    email: bool = False  # whether email is on until the user says otherwise
    # Whether the morning summary carries it instead of the app until the user says otherwise: for events a person
    # meets anyway on their Today page or lists (a new lead is listed there), where one unread item each is noise.
    summary: bool = False


@dataclass(frozen=True)
class Sweep:
    """A periodic, idempotent job. `every_seconds` for an interval, or `cron` ("0 9 * * 1") for a time of day."""

    name: str
    enqueue: Callable[[], object]
    every_seconds: int | None = None
    cron: str | None = None


@dataclass(frozen=True)
class TodaySource:
    """One section of a person's Today page. `items(user, now)` returns what the section lists
    (already through the visibility layer); `template` renders them; empty sections are hidden."""

    key: str
    label: Any
    items: Callable[[Any, datetime], Iterable[Any]]
    template: str
    order: int = 100
    visible: Callable[[Any], bool] = field(default=lambda user: True)


@dataclass(frozen=True)
class ImportKind:
    """A kind of record the spreadsheet import brings in (leads' pipeline: upload → column mapping and
    preview → progress → result and refused-rows report). Leads declares its own; a higher app adds one
    for its records (quotes: products) and reuses the whole pipeline.

    - `fields()`: the importable fields and their labels, in the mapping's order;
    - `aliases`: the header names people use for each field, recognised whatever their case or width;
    - `check(data)`: the field errors a row would get, without writing ({} = fine), for the preview;
    - `submit(rows=..., actor=..., on_chunk=..., job=...)`: writes `rows` (`((row number, cells), data)`) in
      chunks, one transaction each, calling `on_chunk(outcome)` inside it with `created`, `routed` and
      `refused` (`[((row number, cells), field errors)]`), so the job's progress commits with the rows
      (`job`: the ImportJob, for records that remember the import they came with; `progress()`: where the
      rows' reader is, read after each chunk is drawn and handed back as `outcome.progress`, for a kind that
      reads the rows in another process; a kind that reads them in its own may ignore it; `stop()`: asked
      after each chunk commits, true once the job is cancelled: the kind stops there, keeping what it wrote);
    - `may_import(user)`: who may upload and start one (the pages check it; the job stays its uploader's);
    - `required`: fields a mapping must include; `upload_url` / `list_url`: URL names of the kind's upload
      page and of the list its records land in; `routed_label`: what `routed` rows became (a lead sent to
      its owner, a product updated by its code).
    """

    key: str
    label: Any  # the records, plural and lower case: "leads", "products"
    title: Any  # the upload page's heading
    fields: Callable[[], dict[str, Any]]
    aliases: dict[str, list[str]]
    check: Callable[[dict], dict]
    submit: Callable[..., Any]
    may_import: Callable[[Any], bool]
    upload_url: str
    list_url: str
    required: tuple[str, ...] = ()
    routed_label: Any = None
    hint: Any = ""  # which headers are recognised, shown on the upload page
    template_url: str = ""  # URL name of the kind's empty sheet to fill in (its headers are recognised as they are)


@dataclass(frozen=True)
class UserField:
    """A field an app adds to core's user form: leads adds the source channels a marketer runs.

    `formfield()` builds the form field, `initial(user)` reads the user's current value and
    `save(user, value)` stores a new one (inside the user service's transaction).
    """

    name: str
    formfield: Callable[[], Any]
    initial: Callable[[Any], Any]
    save: Callable[[Any, Any], None]


# The follow-up family's hooks, read by `closeloop.followup` (activities, tasks, the reminder ledger,
# participants, hand-offs, comments, the timeline). A record type is named by its model label, so
# the app that owns the model declares it and nothing below that app names it.


@dataclass(frozen=True)
class RecordType:
    """A kind of record the follow-up family serves. `model` is its label ("leads.Lead"); the model has
    `owner`, `next_follow_up_at`, `last_activity_at`, `get_absolute_url()` and `objects.visible_to(user)`.

    - `followed_up()`: the records still worked on, whose next follow-up is reminded and listed on Today;
    - `on_activity(record, activity)`: what else logging an activity changes on the record (a new lead
      starts contacting), as {field: value}, saved and audited with the activity;
    - `timeline_related(record, viewer)`: other records whose history this record's timeline shows, as
      `(records, kinds)` with kinds among "audit", "activity", "comment" (a deal shows its lead's);
    - `timeline_entries(record, viewer)`: the app's own entries (a deal's stage history), as
      `followup.timeline.TimelineEntry`s;
    - `next_follow_up_default(record)`: when an open record's next follow-up falls unless someone says
      otherwise (the pipeline's or the lead settings' interval); None for a record that needs no next step;
    - `panels`: template partials other apps show on the record's page, by slot (see RecordPanel).
    """

    model: str
    followed_up: Callable[[], Any] | None = None
    on_activity: Callable[[Any, Any], dict] | None = None
    timeline_related: Callable[[Any, Any], Iterable[tuple[Iterable[Any], frozenset[str]]]] | None = None
    timeline_entries: Callable[[Any, Any], Iterable[Any]] | None = None
    next_follow_up_default: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class RecordPanel:
    """A partial an app adds to another app's record page (the lead page's "Convert to deal" comes from deals).

    Rendered by `{% record_panels record "slot" %}` with `record` in its context."""

    model: str  # the record's model label
    slot: str  # "actions" (buttons beside the title) or "details" (below the record's fields)
    template: str
    order: int = 100


@dataclass(frozen=True)
class TaskKind:
    """A kind of task with a due date ("first_contact", later "approval", "instalment_due").

    `reminder` is the overdue notice (`%(record)s` is the record); `done_by_activity` closes an open task
    of this kind when someone logs a follow-up on its record."""

    kind: str
    label: Any
    reminder: Any = None
    done_by_activity: bool = False
    # False: the app's own sweep reminds and escalates tasks of this kind (an instalment's overdue notice
    # also goes to finance, after the contracts' grace period), so the family's task reminder leaves them.
    reminded: bool = True


@dataclass(frozen=True)
class TimelineSource:
    """History another app adds to a record type's timeline (a deal's and a customer's contracts, from contracts).

    `related(record, viewer)` yields `(records, kinds)` like `RecordType.timeline_related`: records of the app
    (already narrowed to what `viewer` may see) whose entries of those kinds ("audit", "activity", "comment")
    appear on the record's timeline, each marked with the record it is about."""

    model: str  # the timeline's record type ("deals.Opportunity")
    related: Callable[[Any, Any], Iterable[tuple[Iterable[Any], frozenset[str]]]]


@dataclass(frozen=True)
class ReminderSource:
    """A kind of due item the reminder sweep sends once per (record, kind, due time) and escalates when
    still overdue after the grace period. `due(now)` yields `followup.reminders.Due` items."""

    kind: str
    label: Any
    due: Callable[[datetime], Iterable[Any]]


@dataclass(frozen=True)
class RadarBreak:
    """A kind of break in the loop (流程断点) for the breakpoint radar: records where the loop is broken now.

    `rows(scope, now, threshold)` returns a queryset of the records broken at `now`, each annotated with
    `broken_since` (a datetime, or a date) and having `get_absolute_url()`, among what `scope` lets through:
    build it on `scope(Model.objects)` for every visibility-checked model it reads (`scope` is `visible_to` a
    viewer for the page, everything for the radar's per-owner recount, `shared_with` a viewer for what they see
    beyond their owners). `owner` is the path to who owns a record ("owner", "opportunity__owner"; null when
    nobody does), the path of the model's `owner_field`; `also_owner` the path of its `also_owner_fields` (a
    contract's deal's owner), if any; `unowned()` the id of who answers for a record whose owner is null (a ticket
    nobody is assigned: the service manager), or None. One query, which the radar counts, orders by
    `broken_since`, filters by owner and pages. `threshold` is how long something may wait before it counts (`default_threshold` unless
    an administrator set another; zero for kinds broken at once). `action` is the one thing that mends a
    record: a label and `action_url(record)`. `help`, if any, says the rule in a sentence (whose it is, what the
    threshold measures), under the kind's list and beside its threshold."""

    key: str  # "leads.no_owner"
    label: Any
    rows: Callable[[Callable[[Any], Any], datetime, Any], Any]
    action: Any
    action_url: Callable[[Any], str]
    default_threshold: timedelta = timedelta(0)
    owner: str = "owner"
    also_owner: str | None = None
    unowned: Callable[[], int | None] | None = None
    order: int = 100
    help: Any = ""


@dataclass(frozen=True)
class CustomFieldTarget:
    """A kind of record an administrator may add fields to (自定义字段, core/customfields). The model has a
    `custom` JSONField (default dict) and its app's services clean the values with
    `core.customfields.registry.clean_custom`. `channels` are the doors its records come in through, for
    “required on”; `public_form` whether it has a public web form (leads); `searched` whether its list has a
    search box that looks in the fields marked searchable (`core.customfields.search.also`)."""

    model: str  # "leads.Lead"
    label: Any  # the records, plural: "Leads"
    channels: tuple[str, ...] = ("web", "api")
    public_form: bool = False
    searched: bool = True
    order: int = 100


@dataclass(frozen=True)
class WebhookEvent:
    """An event outside systems may subscribe to (数据推送, core/webhooks). An app declares the events of its
    records; core sends them. The event happens when a service writes one of `actions` to the audit trail (the
    one place every change passes, so no service calls the webhooks itself) and `when(target, changes)` (the audit
    entry's target and its changes), if given, says yes: a deal's stage change is "won" only when its status
    became won. The event is about a record of `model`: the entry's target, or what `record(target)` finds (a
    survey's answer is written on its ticket). `serialize(record)` is the record as the app's API shows it (the
    body's "data"), read right after the change commits."""

    code: str  # "lead.created"
    label: Any
    model: str  # "leads.Lead"
    actions: tuple[str, ...]
    serialize: Callable[[Any], dict]
    when: Callable[[Any, dict], bool] | None = None
    record: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class ListColumn:
    """A built-in column of a record list that a saved view may show, hide and move (core/savedviews)."""

    key: str  # "owner"
    label: Any
    sort: str = ""  # the list's `sort` value that orders by it ("next_follow_up_at"; "-…" is the reverse), if any


@dataclass(frozen=True)
class SavedViewList:
    """A record list people save views of (视图: columns, sort and filters, core/savedviews): leads declares its
    lead list, deals its deal list. Core names no list: it keeps a view's `list` as this `key`.

    - `columns`: the built-in columns in the table's order (the title column, always first, is not among them);
    - `default_columns`: those shown when no view says otherwise (and the custom fields marked “shown in the list”);
    - `parameters`: the list's own query-string filters besides `sort` and `page`; a view keeps only these (and
      `cf.<key>` filters on `custom_target`'s fields when `custom_filters`), refusing others when saved;
    - `sorts`: the `sort` values the list knows (a view's sort must be one of them; the first is the default);
    - `custom_target`: the record type whose custom fields are offered as columns (`cf.<key>`), if any.
    """

    key: str  # "leads"
    label: Any  # the list's records, plural: "Leads"
    url_name: str  # the list page, reversed without arguments
    columns: tuple[ListColumn, ...]
    default_columns: tuple[str, ...]
    parameters: tuple[str, ...]
    sorts: tuple[str, ...]
    title_sort: str = ""  # the sort of the title column's header, if any
    custom_target: str | None = None
    custom_filters: bool = False
    order: int = 100


@dataclass(frozen=True)
class SyncedKind:
    """A kind of record the API syncs whose deletions it reports (`GET /api/deleted/{kind}`, core/sync.py): every
    delete of `model` (a service's, a cascade's, a merge's) leaves a `Deletion` row in its transaction."""

    kind: str  # the name in the API's path: "leads", "contacts"
    model: str  # "leads.Lead"
    # For a kind whose visibility is its parent's: record -> (the parent's model, its id), e.g. a contact's customer;
    # who could see a deleted one is asked of the parent, once per parent in one delete.
    follows: Callable[[Any], tuple[Any, Any]] | None = None


@dataclass
class DemoContext:
    """Shared by the apps' demo hooks, lowest app first: each reads what lower apps made and adds its own."""

    rng: random.Random
    now: datetime
    admin: Any = None
    users: dict[str, Any] = field(default_factory=dict)  # by username
    departments: dict[str, Any] = field(default_factory=dict)  # by a short key: "company", "sales", "team_a" ...
    shared: dict[str, Any] = field(default_factory=dict)  # anything an app hands to the apps above it
    summary: list[str] = field(default_factory=list)  # one line per app for the command's output
    options: dict[str, Any] = field(default_factory=dict)  # every app's `demo` command-line options
    # Steps that need the whole company, run after every app's demo hook, in the order added (the
    # leads' pool sweep ages the leads the deals did not take).
    finish: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class GenDataContext:
    """Shared by the apps' gen-data hooks; `options` holds every app's command-line options."""

    options: argparse.Namespace
    rng: random.Random
    owners: list[int] = field(default_factory=list)  # sales reps' ids to spread records over
    shared: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = print


class LoopApp(AppConfig):
    """Base of every Closeloop app's AppConfig. Override what the app contributes; the defaults add nothing."""

    # An app's apps.py imports LoopApp, so Django sees two AppConfig classes there and would fall back to
    # a plain AppConfig. LoopApp itself is never an app's config; each subclass is its app's default.
    default = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "default" not in cls.__dict__:
            cls.default = True

    # The app's typed audit actions (a TextChoices whose values are "record.verb"): labels on timelines,
    # and the audit trail refuses codes no app declared.
    audit_actions: type[TextChoices] | None = None
    # Labels for keys of an entry's `changes` that are not fields of its record ("collaborators"); a key
    # "app_label.model.field" relabels one model's field where its verbose name reads wrong on a timeline.
    audit_extra_labels: dict[str, Any] = {}
    # Action prefixes whose entries sit on another record than the one whose fields they change
    # ({"contact": "deals.Contact"}: contact edits are shown on the customer).
    audit_action_models: dict[str, str] = {}
    # This app records contracts' delivery acceptance itself (service: the customer accepts a delivery), so a
    # contract's own "delivery accepted" action and API route defer to it and cannot release an instalment due
    # "on acceptance" around it.
    records_delivery_acceptance: bool = False

    def notification_kinds(self) -> Iterable[NotificationKind]:
        return ()

    def sweeps(self) -> Iterable[Sweep]:
        return ()

    def nav_entries(self) -> Iterable[NavEntry]:
        return ()

    def today_sources(self) -> Iterable[TodaySource]:
        return ()

    def user_fields(self) -> Iterable[UserField]:
        return ()

    def import_kinds(self) -> Iterable[ImportKind]:
        return ()

    def urls(self) -> Iterable[Any]:
        """URL patterns this app mounts on the site (`path("leads/", include(...))`)."""
        return ()

    def api_routers(self) -> Iterable[tuple[str, Any]]:
        """(prefix, django-ninja Router) pairs this app adds to the JSON API."""
        return ()

    def demo_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add this app's options to `closeloop demo`."""

    def record_types(self) -> Iterable[RecordType]:
        return ()

    def record_panels(self) -> Iterable[RecordPanel]:
        return ()

    def task_kinds(self) -> Iterable[TaskKind]:
        return ()

    def reminder_sources(self) -> Iterable[ReminderSource]:
        return ()

    def timeline_sources(self) -> Iterable[TimelineSource]:
        return ()

    def custom_field_targets(self) -> Iterable[CustomFieldTarget]:
        """Kinds of this app's records that take custom fields."""
        return ()

    def webhook_events(self) -> Iterable[WebhookEvent]:
        """Events of this app's records that outside systems may subscribe to."""
        return ()

    def saved_view_lists(self) -> Iterable[SavedViewList]:
        """This app's record lists whose columns, sort and filters people save as views."""
        return ()

    def radar_breaks(self) -> Iterable[RadarBreak]:
        """Kinds of break in the loop this app's records can have, for the breakpoint radar."""
        return ()

    def synced_kinds(self) -> Iterable[SyncedKind]:
        """This app's records whose deletions the API's sync reports."""
        return ()

    def demo(self, ctx: DemoContext) -> None:
        """Add this app's part of the demo company (inside the demo command's transaction)."""

    def gen_data_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add this app's options to `closeloop gen-data`."""

    def gen_data(self, ctx: GenDataContext) -> None:
        """Bulk-insert this app's records at benchmark scale."""


def loop_apps() -> Iterator[LoopApp]:
    """The installed Closeloop apps, lowest layer first."""
    for config in apps.get_app_configs():
        if isinstance(config, LoopApp):
            yield config


def collect(hook: str) -> list:
    """Every app's contributions to a list-returning hook, lowest app first."""
    result = []
    for config in loop_apps():
        result.extend(getattr(config, hook)())
    return result
