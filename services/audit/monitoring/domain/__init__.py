"""The rules the monitoring views re-check, pure (standard library and shared.workdays only).

- :mod:`.poverty`: the poverty standards (audit's independent re-check of households' classes);
- :mod:`.standards`: the service standards (:class:`~.standards.AuditPolicy`) and deadlines;
- :mod:`.cover`: entitlement cover and cards (exclusion, excess, waiting).
"""
