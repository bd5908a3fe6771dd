"""The audit ledger as a library: its format and its client, no storage.

An append-only log of events: an RFC 6962 Merkle tree whose heads are signed with Ed25519.
Like Tessera's ``api/`` and ``client/``, this package holds what a log *is* and how to
*check* one, apart from any storage driver: it has no SQL and imports no service (the
SQL store is ``services.audit.ledger``).

The format
    :mod:`shared.ledger.leaf`      the canonical bytes of an event (what a leaf holds)
    :mod:`shared.ledger.merkle`    RFC 6962 / RFC 9162 hashing, roots, inclusion and
                                   consistency proofs over stored complete subtrees, their
                                   verification, the tree-head signing input
    :mod:`shared.ledger.signing`   the Ed25519 ledger key (sign, verify, encodings, key file)
    :mod:`shared.ledger.evidence`  signed tree heads (checkpoints) and export bundles

The clients (they read the format, never the store)
    1. :mod:`shared.ledger.verifier` — ``python -m shared.ledger.verifier bundle.json``:
       an export bundle checked offline.
    2. ``deploy/local/verify.py`` (``ansinh verify``): the running ledger's latest head and
       its consistency with the head verified last time, through the checks of (1).
    3. ``services/audit/static/verify.js``, served by the audit dashboard (``/static/verify.js``):
       the browser recomputes a leaf hash, walks its inclusion proof to the root and
       checks the signed head's Ed25519 signature with WebCrypto. It is a
       second implementation of :mod:`shared.ledger.merkle` and
       :func:`shared.ledger.evidence.SignedTreeHead.signing_input`: a change to the
       format changes it too.
"""
