"""The inspector dashboard, served by the audit service at ``/``.

Server-rendered pages (Jinja2, ``services/audit/templates``) in Vietnamese and English,
with their stylesheet and script served from ``services/audit/static`` (nothing from the
internet). Inspectors and admins log in by pasting a bearer token, kept in an HttpOnly
cookie (:mod:`.access`). The routers are composed in :mod:`.routes`; this package module
imports nothing, so its modules can import each other without a circle.

| path | page |
| --- | --- |
| ``/login``, ``/logout``, ``/dashboard/language`` | session and language (:mod:`.login`) |
| ``/`` , ``/dashboard/views/{view}`` | overview and the four views (:mod:`.pages`) |
| ``/dashboard/areas[/{code}]``, ``/dashboard/communes/{code}`` | drill-down (:mod:`.drilldown`) |
| ``/dashboard/households/{id}``, ``…/trail/{id}``, ``…/events/{id}`` | :mod:`.household` |
| ``/dashboard/findings[.csv]`` | findings and their export (:mod:`.findings`) |
| ``/dashboard/api/…`` | what the verify script fetches (:mod:`.proofs`) |
| ``/static/{name}`` | CSS, script, icon (:mod:`.assets`) |
"""
