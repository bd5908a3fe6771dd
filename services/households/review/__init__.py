"""The poverty review: periodic reviews of a village's households, regular reviews on
application, voluntary escapes and complaints (domain, schemas, commands, queries)."""
