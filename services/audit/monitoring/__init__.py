"""The monitoring views and findings of the audit service (the ledger is in its own part).

Every ledger entry is folded into read models (:mod:`.projections` into :mod:`.models`),
the views are read from them (:mod:`.queries`), and breaches of the rules in
:mod:`.domain` are judged (:mod:`.detectors`) and raised or cleared as findings
(:mod:`.findings`). :mod:`.commands` evaluates and rebuilds, :mod:`.api` serves it all over
HTTP, :mod:`.runtime` starts it with the service, :mod:`.schemas` are the bodies the API and
the dashboard share, :mod:`.consumed_events` the audit's own reading of the events it uses.
"""
