"""The employment write path: each command opens its transaction, checks the caller's right
to act in the commune concerned, applies the domain rules, changes rows and appends the
resulting events to the outbox in that same transaction.

``workers``, ``placements``, ``training``, ``targets``, ``imports`` (files of placements and
enrolments, through the same operations as single records) and ``admin_units`` (the
reference units loaded at start-up). A broken rule surfaces as a 422 problem naming the
input field (``body.x``).
"""
