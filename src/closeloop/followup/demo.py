"""The demo's follow-up templates: what a call and a visit must record, set through the service as an
administrator would."""

from .activity_templates import activity_template_save
from .models import ActivityKind

# No "下一步" field: the log form asks for the next plan and the next follow-up time beside the content, and a
# template that asks again makes a rep write the next step twice.
DEMO_TEMPLATES = {
    ActivityKind.CALL: {"fields": "通话对象*\n客户需求*\n客户顾虑", "text": ""},
    ActivityKind.VISIT: {"fields": "拜访对象*\n现场情况*\n客户需求*\n竞争对手", "text": ""},
}


def load_demo(ctx) -> None:
    for kind, data in DEMO_TEMPLATES.items():
        activity_template_save(kind=kind, data=data, actor=ctx.admin)
    ctx.summary.append(f"follow-up templates: {len(DEMO_TEMPLATES)} (电话, 拜访)")
