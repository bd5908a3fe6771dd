-- Production grants of the audit service's database role (PostgreSQL).
--
-- The schema belongs to a separate owner role that runs the migrations (a deploy job with
-- its own ANSINH_AUDIT_DATABASE_URL); the service runs as :service_role, which may only
-- append to and read the ledger. Run as the owner, after `alembic upgrade head`:
--
--   psql "$OWNER_URL" -v service_role=ansinh_audit -f services/audit/grants.sql
--
-- Run it again after every migration that adds a table (read models get their grants here).

\set ON_ERROR_STOP on

GRANT USAGE ON SCHEMA public TO :"service_role";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM :"service_role";

-- The ledger: append and read, nothing else. Not the owner, the role can neither drop
-- nor disable the append-only triggers the migration installed.
REVOKE ALL ON ledger_leaves, ledger_nodes, ledger_trail, ledger_tree_heads,
    ledger_cosignatures FROM PUBLIC;
REVOKE ALL ON ledger_leaves, ledger_nodes, ledger_trail, ledger_tree_heads,
    ledger_cosignatures FROM :"service_role";
GRANT SELECT, INSERT ON ledger_leaves, ledger_nodes, ledger_trail, ledger_tree_heads,
    ledger_cosignatures
    TO :"service_role";

-- Platform tables: the inbox is append-only too; the relay marks outbox rows sent.
REVOKE ALL ON inbox, outbox FROM :"service_role";
GRANT SELECT, INSERT ON inbox TO :"service_role";
GRANT SELECT, INSERT, UPDATE ON outbox TO :"service_role";
GRANT USAGE ON SEQUENCE outbox_seq_seq TO :"service_role";

-- Read models of the monitoring views: ordinary tables, emptied and refilled from the ledger
-- by POST /views/rebuild, so the role reads and writes them (they prove nothing; the ledger
-- does).
GRANT SELECT, INSERT, UPDATE, DELETE ON
    view_households, view_class_changes, view_persons, view_assessments, view_review_meetings,
    view_review_postings, view_recognitions, view_complaints, view_escapes, view_applications,
    view_housing, view_entitlements, view_cards, view_enrolments, view_placements, view_targets,
    view_findings, view_evaluation
    TO :"service_role";

-- The service checks at start that the schema is at the head revision (a read).
REVOKE ALL ON alembic_version FROM :"service_role";
GRANT SELECT ON alembic_version TO :"service_role";
