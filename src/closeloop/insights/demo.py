"""Insights' part of `closeloop demo`: this month's sales targets (业绩目标), so the dashboard shows 完成率."""

from closeloop.core.hooks import DemoContext

from .targets import target_save

# Each rep's month, and each team's (the sum of its reps'), as a manager would type them.
REP_TARGET = {"new_customers": "4", "won_amount": "30万", "collected_amount": "20万"}
TEAMS = {"team_a": ("manager1", ("rep1", "rep2", "rep3")), "team_b": ("manager2", ("rep4", "rep5", "rep6"))}


def load_demo_targets(ctx: DemoContext) -> str:
    month = ctx.now.date().replace(day=1)
    made = 0
    for team, (manager, reps) in TEAMS.items():
        actor = ctx.users.get(manager)
        department = ctx.departments.get(team)
        if actor is None or department is None:
            continue
        for username in reps:
            if username in ctx.users:
                target_save(actor=actor, month=month, user=ctx.users[username], data=REP_TARGET)
                made += 1
        team_target = {"new_customers": str(4 * len(reps)), "won_amount": f"{30 * len(reps)}万",
                       "collected_amount": f"{20 * len(reps)}万"}
        target_save(actor=actor, month=month, department=department, data=team_target)
        made += 1
    return f"{made} monthly targets"
