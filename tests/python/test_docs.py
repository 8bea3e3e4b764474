"""dbt docs as a reader meets them: the static page in a real browser, and `dbt docs serve`.

The docs are generated once per module into a temporary target folder (never the
developer's target/), from the session's demo warehouse.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from browser import HeadlessChromium, needs_chromium
from conftest import ROOT, VENV_BIN, WRITE_JSON, Warehouse, dbt, tool_env

EXPOSURES = {
    e["name"]: e
    for e in yaml.safe_load((ROOT / "models" / "exposures.yml").read_text())["exposures"]
}


@pytest.fixture(scope="module")
def docs_target(demo_warehouse: Warehouse, tmp_path_factory) -> tuple[Warehouse, Path]:
    work = tmp_path_factory.mktemp("docs")
    dbt(demo_warehouse.db, work, "docs", "generate", "--static", "--quiet", extra_env=WRITE_JSON)
    return demo_warehouse, work


def test_docs_generate_writes_a_static_page_with_the_exposures(docs_target) -> None:
    _, work = docs_target
    page = work / "target" / "static_index.html"
    assert page.stat().st_size > 100_000
    text = page.read_text(encoding="utf-8")
    for name in EXPOSURES:
        assert f"exposure.api_trust.{name}" in text, name


def test_every_documented_column_exists_and_carries_its_description(docs_target) -> None:
    """The docs match the warehouse: every column a model or seed documents is one its
    relation has, and the DuckDB catalogue (what a CLI user reads in duckdb_columns())
    holds the relation's and each column's description, as persist_docs wrote them."""
    _, work = docs_target
    manifest = json.loads((work / "target" / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((work / "target" / "catalog.json").read_text(encoding="utf-8"))["nodes"]
    missing, wrong = [], []
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    for node in nodes:
        built = catalog[node["unique_id"]]
        if node["resource_type"] == "model" and built["metadata"]["comment"] != node["description"]:
            wrong.append(node["name"])
        for name, column in node["columns"].items():
            if name not in built["columns"]:
                missing.append(f"{node['name']}.{name}")
            elif (
                node["resource_type"] == "model"
                and built["columns"][name]["comment"] != column["description"]
            ):
                wrong.append(f"{node['name']}.{name}")
    assert len(nodes) > 50
    assert not missing, f"documented, but not in the warehouse: {missing}"
    assert not wrong, f"description not persisted as documented: {wrong}"


def _node_text(browser: HeadlessChromium, url: str, must_show: str) -> str:
    browser.send("Page.navigate", {"url": url})
    browser.wait_for(
        f"document.body && document.body.innerText.includes({must_show!r})", timeout=30
    )
    return browser.evaluate("document.body.innerText")


@pytest.mark.browser
@needs_chromium
def test_static_docs_list_models_and_exposures_with_lineage(docs_target, tmp_path: Path) -> None:
    _, work = docs_target
    page = (work / "target" / "static_index.html").as_uri()
    with HeadlessChromium() as browser:
        browser.open(
            page + "#!/overview",
            ready="document.body && document.body.innerText.includes('Exposures')",
        )
        sidebar = browser.evaluate("document.body.innerText")
        assert "Exposures" in sidebar and "Dashboard" in sidebar
        browser.screenshot(tmp_path / "docs_overview.png")

        model = _node_text(
            browser, page + "#!/model/model.api_trust.fct_api_calls", "production-ready dataset"
        )
        assert "fct_api_calls" in model and "request_id" in model

        for name, exposure in EXPOSURES.items():
            text = _node_text(
                browser, f"{page}#!/exposure/exposure.api_trust.{name}", exposure["label"]
            )
            assert "API Trust analytics" in text, name
            assert "Depends On" in text, name
            for ref in exposure["depends_on"]:
                assert ref.split("'")[1] in text, (name, ref)
        browser.screenshot(tmp_path / "docs_exposure.png")
        remote = [u for u in browser.requested_urls() if u.startswith(("http:", "https:"))]
        assert remote == [], remote


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_docs_serve_answers_over_http(docs_target) -> None:
    wh, work = docs_target
    port = _free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "dbt"), "docs", "serve", "--no-browser", "--port", str(port)],
        cwd=ROOT, env=tool_env(wh.db, work), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline, body, last = time.monotonic() + 60, None, None
        while time.monotonic() < deadline and body is None:
            if proc.poll() is not None:
                pytest.fail(
                    f"dbt docs serve exited {proc.returncode}: {proc.stdout.read().decode()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/index.html", timeout=5
                ) as resp:
                    assert resp.status == 200
                    body = resp.read().decode("utf-8", "replace")
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/manifest.json", timeout=5
                ) as resp:
                    manifest = resp.read().decode("utf-8", "replace")
            except OSError as err:
                last = err
                time.sleep(0.5)
        assert body is not None, f"no answer on port {port} within 60 s: {last}"
        assert "<html" in body.lower() and "dbt" in body.lower()
        assert "exposure.api_trust.html_dashboard" in manifest
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
