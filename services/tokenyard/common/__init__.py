"""Pure rules and values every service shares (no I/O, no service imports); `v1/` is the common proto package."""
