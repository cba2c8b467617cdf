"""The web view: server-rendered pages beside `/mcp` on the HTTP server, and the self-contained HTML report.

- `app`: the Starlette routes, the guards they share with `/mcp` (Host/Origin, body limit) and the security headers;
- `auth`: sign-in with a team token or a one-time link, server-side sessions, CSRF tokens;
- `pages`, `board`: the incidents, incident, patterns, action-item and dashboard pages;
- `reads`, `review`, `metrics`: what the pages read from the service (its public methods only), the accept/reject
  adapter and the dashboard's aggregates;
- `html`, `graph`, `charts`: Jinja2 with autoescape, the report's Markdown as inert HTML, and inline SVG;
- `export`: one HTML file per post-mortem (inline CSS and SVG, no script); `ui`: `postmortem ui`.

Nothing here runs script in the browser: every page is HTML and CSS, every chart and graph inline SVG drawn on the
server, every stored value escaped where it lands."""
