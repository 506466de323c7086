"""Provider passthrough: `/v1/{account_id}/{gateway_id}/{provider}/...` forwarded to a configured provider (BYOK)."""
