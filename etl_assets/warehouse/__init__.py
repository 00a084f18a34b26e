"""Snowflake: the local emulator, schema sync, the bulk loader and its strategies, the ledger and reconciliation."""
