"""Provider adapters: one module per provider kind, each implementing providers.base.Provider."""
