"""Zendesk Support: the gateway (the one module that imports zenpy), the types it returns,
its errors, and a sandbox that speaks the same API for tests and the demo."""
