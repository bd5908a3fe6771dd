"""The card family: card rules, card changes inside a transaction, how cards follow
entitlements over time, matching the agency's confirmations, and the card write and read
paths (commands, queries)."""
