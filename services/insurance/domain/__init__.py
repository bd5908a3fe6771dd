"""Pure rules of the insurance service (standard library only), one module per idea."""
