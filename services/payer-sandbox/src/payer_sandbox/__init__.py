"""ClaimFlow payer-sandbox: a simulated clearinghouse and payers for demos and tests (never production)."""
