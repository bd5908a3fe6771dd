import services.audit.monitoring.models  # noqa: F401  (its view tables join Base.metadata)
from services.audit.models import Base
from shared.migrations import run_env

run_env(Base.metadata)
