from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import (
    LoopApp,
    NavEntry,
    NotificationKind,
    RecordPanel,
    RecordType,
    Sweep,
    SyncedKind,
    TaskKind,
    TimelineSource,
    TodaySource,
    WebhookEvent,
)

from .actions import ContractAction


def _admin(user) -> bool:
    return user.is_authenticated and user.is_admin


def _receivables(user) -> bool:
    from .access import can_read_receivables

    return can_read_receivables(user)


def _finance(user) -> bool:
    from .access import is_finance

    return is_finance(user)


class ContractsConfig(LoopApp):
    name = "closeloop.contracts"
    label = "contracts"
    verbose_name = _("Contracts")
    audit_actions = ContractAction
    # Payments, invoices and the plan are recorded on their contract; their changes are their own fields.
    audit_action_models = {"payment": "contracts.Payment", "invoice": "contracts.InvoiceRequest",
                           "instalment": "contracts.Instalment"}
    audit_extra_labels = {
        "instalments": _("payment plan"),
        "documents": _("documents"),
        "esign_secret": _("e-signature shared secret"),
        "contracts.payment.amount": _("payment"),
        "contracts.invoicerequest.amount": _("invoice amount"),
        "contracts.invoicerequest.invoiced_amount": _("invoiced"),
        "contracts.payment.paid_amount": _("paid"),
    }

    def notification_kinds(self):
        return [
            NotificationKind("contract.signed", _("My contract is signed"), email=True),
            NotificationKind("contract.changed", _("My contract is returned, terminated or its signing stopped"),
                             email=True),
            NotificationKind("payment.recorded", _("A payment is received on my contract")),
            NotificationKind("invoice.requested", _("Someone asks finance for an invoice"), email=True),
            NotificationKind("invoice.decided", _("My invoice request is issued or rejected")),
            NotificationKind("reminder.instalment_due_soon", _("An instalment of my contract is due soon")),
            NotificationKind("reminder.instalment_overdue", _("An instalment of my contract is overdue"), email=True),
            NotificationKind("reminder.contract_ending", _("My contract ends soon"), email=True),
        ]

    def sweeps(self):
        from .tasks import contract_reminders, contract_starts, receivables_recount

        return [
            # Hourly: idempotent, so a late or doubled run sends nothing twice; due dates change by the day.
            Sweep("contracts.reminders", contract_reminders.enqueue, every_seconds=3600),
            Sweep("contracts.starts", contract_starts.enqueue, cron="5 0 * * *"),
            # The summaries are kept by every service; the nightly rebuild mends whatever changed around them
            # (a bulk load, a restore, a hand edit) and drops the rows that fell to zero.
            Sweep("contracts.receivables_recount", receivables_recount.enqueue, cron="20 3 * * *"),
        ]

    def task_kinds(self):
        # Reminded and escalated by this app's sweep (finance too), not by the family's task reminder.
        return [TaskKind("instalment_due", _("Collect an instalment"), reminded=False)]

    def today_sources(self):
        from closeloop.followup.today import ITEM_TEMPLATE

        from .today import instalments_due

        return [TodaySource("instalments", _("Instalments to collect"), instalments_due, ITEM_TEMPLATE, order=25)]

    def record_types(self):
        return [RecordType("contracts.Contract")]

    def record_panels(self):
        return [
            RecordPanel("deals.Opportunity", "details", "contracts/_deal_panel.html"),
            RecordPanel("deals.Customer", "details", "contracts/_customer_panel.html"),
            RecordPanel("quotes.Quote", "actions", "contracts/_quote_panel.html"),
        ]

    def timeline_sources(self):
        from . import timeline

        return [TimelineSource("deals.Opportunity", timeline.deal_contracts),
                TimelineSource("deals.Customer", timeline.customer_contracts)]

    def nav_entries(self):
        return [
            NavEntry("contracts", _("Contracts"), "contracts:list", order=10),
            NavEntry("contracts", _("Receivables"), "contracts:receivables", order=20, visible=_receivables),
            NavEntry("contracts", _("Invoice requests"), "contracts:invoices", order=30, visible=_finance),
            NavEntry("settings", _("Contracts"), "contracts:settings", order=70, visible=_admin),
        ]

    def custom_field_targets(self):
        from closeloop.core.hooks import CustomFieldTarget

        return [CustomFieldTarget("contracts.Contract", _("Contracts"), order=60)]

    def webhook_events(self):
        from closeloop.core.webhooks.events import api_serializer

        contract = api_serializer("closeloop.contracts.api.ContractOut")
        return [
            WebhookEvent("contract.created", _("Contract created"), "contracts.Contract", ("contract.create",),
                         contract),
            WebhookEvent("contract.signed", _("Contract signed"), "contracts.Contract", ("contract.sign",), contract),
            # The contract as it stands after the payment: paid and outstanding amounts, its instalments.
            WebhookEvent("contract.payment_received", _("Payment received"), "contracts.Contract",
                         ("payment.record",), contract),
            WebhookEvent("contract.completed", _("Contract completed"), "contracts.Contract", ("contract.complete",),
                         contract),
        ]

    def radar_breaks(self):
        from .radar import radar_breaks

        return radar_breaks()

    def urls(self):
        return [path("contracts/", include("closeloop.contracts.urls"))]

    def api_routers(self):
        from .api import router

        return [("/contracts", router)]

    def demo(self, ctx):
        from .demo import load_demo_contracts

        ctx.summary.append(load_demo_contracts(ctx))

    def gen_data_arguments(self, parser):
        parser.add_argument("--contracts", type=int, default=0,
                            help="Contracts with three-instalment payment plans, on the generated deals.")

    def gen_data(self, ctx):
        from .gendata import generate

        generate(ctx)

    def ready(self):
        from closeloop.quotes.approvals import register_kind

        from .services import contract_approval_kind

        register_kind(contract_approval_kind())

    def synced_kinds(self):
        # Their deletions are reported to the API's sync (GET /api/deleted/{kind}).
        return [SyncedKind("contracts", "contracts.Contract")]
