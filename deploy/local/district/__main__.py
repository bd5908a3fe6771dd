"""``python -m deploy.local.district``: the same as ``ansinh generate``."""

from deploy.local.district.generator import main_generate

raise SystemExit(main_generate())
