"""Provider passthrough routes (`/v1/{account_id}/{gateway_id}/{provider}/...`): path parsing and byte relaying only;
the Router checks access, forwards and meters (tokenyard.passthrough, behind InferenceService/Forward)."""
