"""A module that names a provider kind (the scan in test_kinds_stay_inside must report it)."""


def is_builtin(kind: str) -> bool:
    return kind == "local"
