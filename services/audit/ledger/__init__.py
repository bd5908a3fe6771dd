"""The audit ledger's SQL store: the tables, appends, reads, signed heads, the routes.

The format it stores and the verifiers that check it are the library :mod:`shared.ledger`
(no SQL there); this package is only where the audit service keeps a ledger:

- ``models.py``: the append-only ``ledger_*`` tables (on ``services.audit.models.Base``)
- ``store.py``: ``LedgerStore``, append, size, roots, proofs, trails and signed heads in
  the database; ``records.py``: ``LedgerEntry`` and the rows and statements behind it
- ``commands.py``: the write path, ``append_to_ledger`` (in the consumer's transaction) and
  ``sign_tree_head``
- ``queries.py``: the reads the API gives (authorised), an export bundle included
- ``tree_heads.py``: ``TreeHeadPublisher``, signs a new head while the ledger grows
- ``api.py``, ``schemas.py``: the trail, tree-head, proof, public-key and export routes
"""
