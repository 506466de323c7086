"""Everything that crosses a service boundary (DESIGN.md, "Inside: how the parts meet").

A service package never imports another service's modules; it imports the other service's client, cache or
sink from here. Each client has one interface that is in-process in the all-in-one process and gRPC in the
split one (the process's `runtime.py` / `tenancy.py` choose which). Pure shared rules live in
`tokenyard.common` instead. `tests/unit/core/test_import_boundaries.py` keeps it so.
"""
