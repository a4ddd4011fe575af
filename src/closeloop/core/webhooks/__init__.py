"""Outbound webhooks (数据推送): apps declare events (`LoopApp.webhook_events`), the audit trail raises them
(`events.py`), the worker signs and sends them in order per record with retries (`sending.py`), administrators
manage subscriptions and replay deliveries (`services.py`, `views.py`)."""
