"""Background jobs of the deals app, run by `closeloop worker`."""

from django.tasks import task


@task
def customer_pool_sweep() -> dict:
    """Return customers nobody follows up to the pool and warn their owners a day ahead."""
    from .pool import customer_pool_sweep_run

    result = customer_pool_sweep_run()
    return {"returned": result.returned, "warned": result.warned}
