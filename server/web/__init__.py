"""The web view: server-rendered pages beside `/mcp` on the HTTP server, and `postmortem ui` (docs/web.md).

- `app`: the pages' session and CSRF checks, their error pages, the guards they share with `/mcp` (Host/Origin, body
  limit), the security headers and the pages' Jinja2 environment (autoescape on);
- `site`: the routes put together, the static files, and the web view beside `/mcp`;
- `auth`, `login`: sign-in with a team token or a one-time link, server-side sessions, CSRF tokens;
- `pages`, `board`: the incidents, incident (with its accept/reject and timeline forms), patterns, action-item and
  dashboard pages;
- `reads`, `metrics`: what the pages read from the service (its public methods only) and the dashboard's aggregates;
  `charts`: the dashboard's inline SVG; `cache`: slow reads kept a minute;
- `ui`: `postmortem ui`.

The post-mortem itself is rendered by `render.html_report` (the same HTML as the exported file). Nothing here runs
script in the browser: every page is HTML and CSS, every chart and graph inline SVG drawn on the server, every
stored value escaped where it lands."""
