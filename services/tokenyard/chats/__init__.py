"""Chat app sub-service (stored chats, tool loop, built-in tools), hosted in the Inference process.

It is a consumer of the Router, not a second router: every model step goes through `Router.begin/stream`,
so app config, rate limits, credits, retries and metering apply to it exactly as to /v1/chat/completions.
"""
