"""Employment rules, pure functions over plain values (standard library only).

The API, the event handlers and the bulk import all decide through these modules, so a rule
lives in exactly one place: ``workers`` (priority flags, class on a day), ``placements``,
``training``, ``targets``, ``admin_units``, ``dates``; a broken rule raises
:class:`~services.employment.domain.errors.RuleBroken`.
"""
