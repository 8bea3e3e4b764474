"""Write the page: web/index.html with its CSS, scripts, plotly.js and the payload inlined.

The page's HTML, CSS and JavaScript are ordinary files in web/ (an editor and a
linter see them as what they are); they are read with importlib.resources and
inlined here, so the page still opens offline as one file. Data goes in as one
JSON block with `<`, `>`, `&` and U+2028/9 escaped, and the page sets all data
text with textContent, so a hostile API name renders as text.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any

# The page's scripts, in load order: formulas, chart definitions, the page itself.
SCRIPTS = ("stats.js", "charts.js", "app.js")

# Content-Security-Policy: the page may load nothing from anywhere (offline by
# construction, and a stray <img src=http...> could not phone home either).
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
)


def web_file(name: str) -> str:
    """A file of the page as text (package data, so an installed package has it too)."""
    return (files("api_trust.dashboard") / "web" / name).read_text(encoding="utf-8")


def safe_json(value: Any) -> str:
    """JSON that cannot end its <script> element or be read as markup: <, >, & and the
    two JavaScript line separators are escaped (valid JSON, same value)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(raw, escaped)
    return text


def inline_script(source: str, name: str) -> str:
    if "</script" in source.lower():
        raise ValueError(f"{name} contains '</script': cannot inline it safely")
    return f"<script>{source}</script>"


def render_page(payload: dict, plotly_js: str) -> str:
    """The whole page as text. Only constant markup comes from the template; data goes in JSON."""
    scripts = "\n".join(inline_script(web_file(n), n) for n in SCRIPTS)
    data = f'<script type="application/json" id="data-payload">{safe_json(payload)}</script>'
    parts = {
        "CSP": CSP,
        "CSS": web_file("page.css"),
        "DATA": data,
        "PLOTLY": inline_script(plotly_js, "plotly.js"),
        "APP": scripts,
    }
    # one pass over the template only: a placeholder-like name in the data stays data
    return re.sub(r"__([A-Z]+)__", lambda m: parts[m.group(1)], web_file("index.html"))


def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
