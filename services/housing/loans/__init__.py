"""Housing loans: the schedule and statement arithmetic, disbursement, repayments, and the
supported house's construction."""
