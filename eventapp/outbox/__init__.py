"""The durable mail outbox: one row per mail, queued with its cause, sent by the worker."""
