"""The HTTP API (Litestar, ASGI) and the dashboard it serves.

``create_app(runtime)`` builds the app; ``session-log up`` serves it with uvicorn.
See docs/api.md.
"""

from session_log.api.app import ApiState, create_app
from session_log.api.auth import Principal, TokenBook, issue_token

__all__ = ["ApiState", "Principal", "TokenBook", "create_app", "issue_token"]
