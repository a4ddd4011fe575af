"""Background jobs of the leads app, run by `closeloop worker` (django.tasks, database backend)."""

from django.db import transaction
from django.tasks import task


@task
def rescore_leads() -> int:
    """Apply changed scoring rules to every lead."""
    from .scoring import rescore_all

    return rescore_all()


@task
def pool_sweep() -> dict:
    """Return stale leads to the pool and warn their owners a day ahead."""
    from .pool import pool_sweep_run

    result = pool_sweep_run()
    return {"returned": result.returned, "warned": result.warned}


def enqueue_rescore() -> None:
    """Queue a rescore once the rule change is committed, so the job reads the new rules."""
    transaction.on_commit(rescore_leads.enqueue)


@task
def sync_name_index() -> int:
    """Bring the SQLite name-search index up to date with leads written since (a no-op on PostgreSQL)."""
    from .name_search import sync_sqlite_index

    return sync_sqlite_index()


@task
def refresh_match_keys() -> int:
    """Store the duplicate engine's comparison fields on leads that lack them (written before the column
    existed, or under an older version): matching is right without them, only slower."""
    from .dedup import refresh_match_keys as refresh

    # Bounded per run, so a large backlog (a million leads after an upgrade) is spread over several runs.
    return refresh(limit=100_000)


@task
def run_import(job_id: int) -> None:
    """Import an uploaded spreadsheet; safe to run twice (a finished job is left alone)."""
    from .services.importing import import_job_run

    import_job_run(job_id=job_id)


@task
def inspect_import(job_id: int) -> None:
    """Read an uploaded spreadsheet's header and first rows for the mapping page (off the web request)."""
    from .services.importing import import_job_inspect

    import_job_inspect(job_id=job_id)


@task
def recount_loads() -> int:
    """Check every owner's open-lead counter against a count; fix and log any that drifted. Returns how many."""
    from .loads import recount

    return len(recount())
