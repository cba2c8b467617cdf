"""The whole web view: its routes put together behind the guard (app.py)."""

from starlette.types import ASGIApp

from agent_postmortem.web import board, login, pages
from agent_postmortem.web.app import Web, root_route, web_app


def web_view(web: Web) -> ASGIApp:
    return web_app(web, [root_route(), *login.routes(web), *pages.routes(web), *board.routes(web)])
