"""Deal writes, one module per concern: customers and contacts (`customers`), deals with their stage gates,
moves and transfers (`opportunities`), lead conversion (`conversion`), pipeline settings (`pipelines`),
and who may own and manage records (`ownership`). The customer pool is `deals.pool`.

Every service runs in one transaction, checks who may do it, writes its audit entry in it, and sends
notifications after commit (`notify` defers to on_commit). Views, the API, the demo and jobs all call them.
"""
