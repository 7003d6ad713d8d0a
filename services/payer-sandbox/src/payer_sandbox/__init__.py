"""ClaimFlow payer sandbox: simulated clearinghouse and payers (demos and tests only)."""
