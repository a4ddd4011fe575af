from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.core.hooks import (
    ImportKind,
    LoopApp,
    NavEntry,
    NotificationKind,
    RecordType,
    Sweep,
    SyncedKind,
    TaskKind,
    TodaySource,
    WebhookEvent,
)

from .audit import LeadAction


def _admin(user) -> bool:
    return user.is_admin


def _pool_user(user) -> bool:
    from .pool import can_use_pool

    return can_use_pool(user)


def _campaign_manager(user) -> bool:
    from .services_campaigns import can_manage_campaigns

    return can_manage_campaigns(user)


def _followed_up_leads():
    from .models import Lead, LeadStatus

    return Lead.objects.exclude(status__in=[LeadStatus.CONVERTED, LeadStatus.MERGED, LeadStatus.DISQUALIFIED])


def _lead_next_follow_up(lead):
    """An owned, open lead's next follow-up by default: the lead settings' interval (a nurture lead's re-check)."""
    from closeloop.followup.services import follow_up_time

    from .models import LeadStatus
    from .scoring import quality_settings

    if lead.owner_id is None or lead.status in (LeadStatus.CONVERTED, LeadStatus.MERGED, LeadStatus.DISQUALIFIED):
        return None
    settings = quality_settings()
    return follow_up_time(settings.nurture_recheck_days if lead.status == LeadStatus.NURTURE else settings.follow_up_days)


def _lead_contacted(lead, activity) -> dict:
    """A logged follow-up is the first contact: a new or just assigned lead is now being contacted."""
    from .models import LeadStatus

    return {"status": LeadStatus.CONTACTING} if lead.status in (LeadStatus.NEW, LeadStatus.ASSIGNED) else {}


def _lead_check(data: dict) -> dict:
    from closeloop.core.models import Channel

    from .services.intake import lead_check

    return lead_check(data=data, channel=Channel.IMPORT)


def _lead_submit(*, rows, actor, on_chunk, job=None, progress=None, stop=None):
    from closeloop.core.models import Channel

    from .services.batch import IMPORT_CHUNK_ROWS, lead_submit_batch

    # A job's rows come from its file alone: read and cleaned in a second process while this one writes.
    return lead_submit_batch(rows=rows, channel=Channel.IMPORT, actor=actor, on_chunk=on_chunk, import_job=job,
                             progress=progress, apart=job is not None, stop=stop, chunk_size=IMPORT_CHUNK_ROWS)


def _lead_fields() -> dict:
    from .imports import lead_fields

    return lead_fields()


class LeadsConfig(LoopApp):
    name = "closeloop.leads"
    label = "leads"
    verbose_name = _("Leads")
    audit_actions = LeadAction
    # The marketer's channels, changed on core's user form, sit in the user's trail.
    audit_extra_labels = {"source_channels": _("source channels")}

    def notification_kinds(self):
        return [
            # Reps get many leads a day, and Today lists the new ones: in the morning summary (and the team
            # chat), not one unread item or mail each.
            NotificationKind("lead.assigned", _("A lead is assigned to me"), summary=True),
            NotificationKind("pool.warning", _("My leads are about to return to the public pool"), email=True),
            NotificationKind("pool.returned", _("My leads returned to the public pool"), summary=True),
            NotificationKind("reminder.first_contact", _("First contact is due"), email=True),
            NotificationKind("lead.duplicate", _("Someone entered a lead that looks like mine")),
            NotificationKind("lead.touch", _("My lead came in again")),
            NotificationKind("lead.merged", _("My lead was merged into another")),
        ]

    def record_types(self):
        from .selectors import merged_leads

        return [RecordType("leads.Lead", followed_up=_followed_up_leads, on_activity=_lead_contacted,
                           timeline_related=merged_leads, next_follow_up_default=_lead_next_follow_up)]

    def today_sources(self):
        from .selectors import new_leads_today

        # First on the page: a new lead's first contact is the day's most urgent follow-up.
        return [TodaySource("new_leads", pgettext_lazy("today section", "New leads"), new_leads_today,
                            "followup/today/_item.html", order=10)]

    def import_kinds(self):
        from .imports import FIELD_ALIASES, LEADS

        return [ImportKind(
            LEADS, _("leads"), _("Import leads from Excel or CSV"), fields=_lead_fields, aliases=FIELD_ALIASES,
            check=_lead_check, submit=_lead_submit, may_import=lambda user: user.is_authenticated,
            upload_url="leads:import", list_url="leads:list", template_url="leads:import_template",
            routed_label=_("rows matched existing records and were sent to their owners"),
            hint=_("Columns are recognised by their headers (公司名称, 联系人, 手机, 邮箱, company, name, mobile, email …); "
                   "you can correct the mapping and see a preview before anything is imported."),
        )]

    def task_kinds(self):
        # Opened when a lead gets an owner, due by the first-contact SLA; the first follow-up logged closes it.
        return [TaskKind("first_contact", _("First contact"),
                         reminder=_("First contact is due for the lead %(record)s."), done_by_activity=True)]

    def sweeps(self):
        from .tasks import pool_sweep, recount_loads, refresh_match_keys, sync_name_index

        return [
            # Every 15 minutes: warnings go out about a day ahead, returns land close to their deadline.
            Sweep("leads.pool_sweep", pool_sweep.enqueue, every_seconds=15 * 60),
            # Searches stay exact without it (queued leads are always candidates); it keeps them fast after imports.
            Sweep("leads.sync_name_index", sync_name_index.enqueue, every_seconds=60),
            # Matching is right without stored comparison fields, only slower: after an upgrade it fills them.
            Sweep("leads.refresh_match_keys", refresh_match_keys.enqueue, every_seconds=30 * 60),
            # Least load reads counters the lead table's triggers keep; a recount fixes (and logs) any drift.
            Sweep("leads.recount_loads", recount_loads.enqueue, cron="35 3 * * *"),
        ]

    def nav_entries(self):
        return [
            NavEntry("leads", _("Lead list"), "leads:list", order=10),
            NavEntry("leads", _("Pool"), "leads:pool", order=20, visible=_pool_user),
            NavEntry("leads", _("Import"), "leads:import", order=30),
            NavEntry("leads", _("Duplicates"), "leads:duplicates", order=40),
            NavEntry("leads", _("Campaigns"), "leads:campaign_list", order=50, visible=_campaign_manager),
            NavEntry("settings", _("Intake rules"), "leads:intake_settings", order=20, visible=_admin),
            NavEntry("settings", _("Lead rules"), "leads:scoring_settings", order=21, visible=_admin),
        ]

    def user_fields(self):
        from .forms import marketer_field

        return [marketer_field()]

    def demo_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=300, help="Demo leads to enter (through the real intake).")

    def demo(self, ctx):
        from .demo import load_demo

        load_demo(ctx, leads=ctx.options["leads"])

    def gen_data_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=10_000)
        parser.add_argument("--duplicates", type=float, default=0.08,
                            help="Fraction of leads that repeat an earlier company/person, written differently.")

    def gen_data(self, ctx):
        from .gendata import first_contact_tasks, generate

        generate(ctx)
        # Also for leads an earlier run wrote without them (`--leads 0` on an older database adds them).
        first_contact_tasks(ctx)

    def custom_field_targets(self):
        from closeloop.core.hooks import CustomFieldTarget

        return [CustomFieldTarget("leads.Lead", _("Leads"), channels=("web", "form", "api", "import"),
                                  public_form=True, order=10)]

    def webhook_events(self):
        from closeloop.core.webhooks.events import api_serializer

        lead = api_serializer("closeloop.leads.api.LeadOut")
        return [
            WebhookEvent("lead.created", _("Lead created"), "leads.Lead", ("lead.create",), lead),
            # Assigned by hand, or by the assignment rules as it came in (its creation names an owner).
            WebhookEvent("lead.assigned", _("Lead assigned"), "leads.Lead", ("lead.assign", "lead.create"), lead,
                         when=lambda lead, changes: (changes.get("owner") or [None, None])[1] not in (None, "")),
            # Written by the deals app, which converts; the event is the lead's.
            WebhookEvent("lead.converted", _("Lead converted to a deal"), "leads.Lead", ("lead.convert",), lead),
        ]

    def saved_view_lists(self):
        from closeloop.core.hooks import ListColumn, SavedViewList

        from .selectors import SORTS
        from .views import LIST_PARAMETERS

        return [SavedViewList(
            "leads", _("Leads"), "leads:list", columns=(
                ListColumn("contact", _("Contact")), ListColumn("mobile", _("Mobile")),
                ListColumn("status", _("Status")), ListColumn("source", _("Source")), ListColumn("owner", _("Owner")),
                ListColumn("next_follow_up", _("Next follow-up"), sort="next_follow_up_at"),
                ListColumn("grade", _("Grade")), ListColumn("created", _("Created"), sort="-created_at"),
                ListColumn("updated", _("Updated"), sort="-updated_at"),
            ),
            default_columns=("contact", "mobile", "status", "source", "owner", "next_follow_up", "grade", "created"),
            parameters=LIST_PARAMETERS, sorts=tuple(SORTS), title_sort="company_name",
            custom_target="leads.Lead", custom_filters=True, order=10)]

    def radar_breaks(self):
        from .radar import radar_breaks

        return radar_breaks()

    def urls(self):
        from . import views_public

        return [
            path("leads/", include("closeloop.leads.urls")),
            # The public web form sits outside /leads/ so embed URLs stay short and say nothing about the app.
            path("f/<str:form_key>/", views_public.public_form_view, name="public_form"),
            path("f/<str:form_key>/thanks/", views_public.public_form_thanks_view, name="public_form_thanks"),
        ]

    def api_routers(self):
        from .api import router

        return [("/leads", router)]

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import loads, name_search

        # Django rebuilds SQLite tables on some schema changes, dropping the name index's triggers
        # and the open-lead counters' triggers.
        post_migrate.connect(name_search.on_post_migrate, sender=self)
        post_migrate.connect(loads.on_post_migrate, sender=self, dispatch_uid="closeloop.leads.loads")

    def synced_kinds(self):
        # Their deletions are reported to the API's sync (GET /api/deleted/{kind}).
        return [SyncedKind("leads", "leads.Lead"), SyncedKind("campaigns", "leads.Campaign")]
