"""The dashboard: server-rendered pages under /app on the API's services, permissions and RLS.

`mount(app)` adds its routes, its static files and its response headers. How to add a page:
docs/dashboard.md."""

from revos.web.app import mount

__all__ = ["mount"]
