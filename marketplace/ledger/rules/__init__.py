"""The thirteen attribution rules of DESIGN §3, one module per subject (re-exported by `ledger.attribution`)."""
