"""Audit service: the tamper-evident ledger of every event, and inspectors' views of it."""
