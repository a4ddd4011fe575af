"""Lead writes, one module per concern: intake through every channel (`intake`), batches of rows for
imports (`batch`), import jobs (`importing`), editing and assigning a lead (`editing`), merging duplicates
(`merge`). The pool is `leads.pool`; campaigns and sources `leads.services_campaigns`; scoring,
assignment and intake rules `leads.rule_services`.
"""
