"""`medcode index fetch` against a local HTTP server (127.0.0.1, started here) that serves
archives in the official layouts: success, 404, truncated downloads (resumed, or given up),
a changed checksum, no network, and proxies. No test touches the internet."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from medcode.index_builder import download
from medcode.index_builder.reader import IndexStore
from medcode.server import cli
from official_layouts import (
    CM_FY2026,
    CM_FY2027,
    cdc_code_descriptions_zip,
    cdc_table_and_index_zip,
    claim_837p,
    hcpcs_zip,
    ndctext_zip,
)
from publisher_site import Site, closed_port, file_entry, served, use_catalogue

ORDER_MEMBERS = r"(?i)^(?!.*addend).*order.*\.txt$"
TABULAR_MEMBERS = r"(?i)^(?!.*addend).*tabular.*\.xml$"
PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")


@pytest.fixture
def site():
    with served() as s:
        yield s


@pytest.fixture
def proxy():
    """A tiny forward proxy: answers absolute-URL GETs from its own files, records CONNECTs."""
    with served() as s:
        yield s


def icd10cm_catalogue(site: Site, *, fy2027_sha: str | None = None) -> dict:
    """FY2026 (order file only) and FY2027 (order file and tabular XML), in the CDC layouts."""
    fy26 = site.add("/ICD10CM/2026/icd10cm-Code%20Descriptions-2026.zip", cdc_code_descriptions_zip(2026, CM_FY2026))
    fy27_data = cdc_code_descriptions_zip(2027, CM_FY2027)
    fy27 = site.add("/ICD10CM/2027/icd10cm-code-descriptions-2027.zip", fy27_data)
    tab = site.add("/ICD10CM/2027/icd10cm-table-and-index-2027.zip", cdc_table_and_index_zip(2027, CM_FY2027))
    return {
        "publisher": "CDC/NCHS (test)",
        "page": site.url("/ICD10CM/"),
        "releases": [
            {"label": "FY2026", "effective": "2025-10-01", "files": [file_entry(fy26, members=ORDER_MEMBERS)]},
            {"label": "FY2027", "effective": "2026-10-01", "files": [
                file_entry(fy27, members=ORDER_MEMBERS, sha256=fy2027_sha or hashlib.sha256(fy27_data).hexdigest()),
                file_entry(tab, members=TABULAR_MEMBERS, optional=True),
            ]},
        ],
    }


@pytest.fixture
def run(capsys, monkeypatch, tmp_path):
    """The CLI in-process against tmp_path/idx, with no proxy set and quick retries."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(download, "BACKOFF", 0.01)
    monkeypatch.setenv("MEDCODE_INDEX_DIR", str(tmp_path / "idx"))

    def invoke(*args: str):
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def nothing_left(index: Path, set_id: str) -> bool:
    """No release of the set, and no download debris."""
    return not IndexStore(index).releases(set_id) and not list(index.glob(".downloads/**/*"))


# -- success ------------------------------------------------------------------------------------
def test_fetch_icd10cm_releases_records_provenance_and_answers(run, site, monkeypatch, tmp_path):
    use_catalogue(monkeypatch, tmp_path, {"icd10cm": icd10cm_catalogue(site)})
    index = tmp_path / "idx"
    code, _, err = run("index", "fetch", "icd10cm", "--release", "FY2026")
    assert code == 0, err
    assert "ICD-10-CM FY2026 [icd10cm/FY2026]: 6 records from 1 download(s)" in err
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    code, _, err = run("index", "fetch", "icd10cm", "--latest")
    after = dt.datetime.now(dt.UTC)
    assert code == 0, err
    assert "[icd10cm/FY2027]" in err
    assert "(100%)" in err  # progress, with percentages as the size is known

    fy27 = IndexStore(index).release("icd10cm", "FY2027")
    src = fy27.manifest.source
    assert src.kind == "download" and src.url == site.url("/ICD10CM/2027/icd10cm-code-descriptions-2027.zip")
    assert [d.name for d in src.downloads] == ["icd10cm-code-descriptions-2027.zip", "icd10cm-table-and-index-2027.zip"]
    served = site.files["/ICD10CM/2027/icd10cm-code-descriptions-2027.zip"]
    assert src.downloads[0].sha256 == hashlib.sha256(served).hexdigest() and src.downloads[0].bytes == len(served)
    when = dt.datetime.fromisoformat(src.downloaded_at)
    assert when.utcoffset() == dt.timedelta(0) and before <= when <= after  # the time of this fetch, in UTC
    # The member filter kept the addenda out; the tabular XML came along (chapters known).
    assert fy27.get("A0099") is None and fy27.meta["chapters"]
    assert fy27.effective_from == dt.date(2026, 10, 1)
    assert not (index / ".downloads").exists()

    code, out, _ = run("lookup", "A00.2", "--date", "2026-11-01", "--json")
    (view,) = json.loads(out)["results"]
    assert code == 0 and view["status"] == "found" and view["release_label"] == "FY2027"
    code, out, _ = run("index", "list", "--json")
    rows = {r["release"]: r for r in json.loads(out)["releases"]}
    assert rows["FY2027"]["source_url"] == src.url and rows["FY2027"]["downloaded_at"] == src.downloaded_at

    # Again: already installed, nothing downloaded.
    before = sum(site.hits.values())
    code, _, err = run("index", "fetch", "icd10cm", "--release", "FY2027")
    assert code == 0 and "already installed" in err and sum(site.hits.values()) == before


def test_deleted_icd10cm_code_across_fetched_releases(run, site, monkeypatch, tmp_path):
    use_catalogue(monkeypatch, tmp_path, {"icd10cm": icd10cm_catalogue(site)})
    assert run("index", "fetch", "icd10cm", "--release", "FY2026")[0] == 0
    assert run("index", "fetch", "icd10cm", "--release", "FY2027")[0] == 0
    claims = tmp_path / "claims.837"
    claims.write_text(claim_837p([
        ("FY26", ["A009"], [("J1100", dt.date(2026, 3, 2))]),
        ("FY27", ["A009"], [("J1100", dt.date(2026, 11, 2))]),
    ]))
    code, out, _ = run("check", str(claims), "--format", "json")
    a009 = [f for f in json.loads(out) if f["code"] == "A009"]
    assert code == 1 and len(a009) == 1
    assert a009[0]["rule"] == "deleted-code" and a009[0]["severity"] == "error"
    assert "not in ICD-10-CM FY2027 (last listed in ICD-10-CM FY2026)" in a009[0]["message"]
    assert a009[0]["line"] == claims.read_text().splitlines().index("HI*ABK:A009~", 20)


def test_fetch_several_sets_in_one_command(run, site, monkeypatch, tmp_path):
    hcpcs = site.add("/files/zip/october-2026-alpha-numeric-hcpcs-file.zip", hcpcs_zip(2026))
    ndc = site.add("/cder/ndctext.zip", ndctext_zip())
    use_catalogue(monkeypatch, tmp_path, {
        "icd10cm": icd10cm_catalogue(site),
        "hcpcs": {"publisher": "CMS", "page": site.url("/hcpcs"), "releases": [
            {"label": "2026-Q4", "effective": "2026-10-01", "files": [file_entry(hcpcs)]},
        ]},
        "ndc": {"publisher": "FDA", "page": site.url("/ndc"), "daily": True, "stale_after_days": 30, "releases": [
            {"label": "daily", "files": [file_entry(ndc)]},
        ]},
    })
    code, _, err = run("index", "fetch", "hcpcs", "ndc", "icd10cm", "--release", "FY2026")
    assert code == 2, err  # --release FY2026 is not a HCPCS release: that set fails, the others install
    assert "no HCPCS Level II release 'FY2026' in the release catalogue (known: 2026-Q4)" in err
    code, _, err = run("index", "fetch", "hcpcs", "ndc")
    assert code == 0, err
    store = IndexStore(tmp_path / "idx")
    today = dt.date.today().isoformat()
    assert [r.label for r in store.releases("hcpcs")] == ["2026-Q4"]
    assert [r.label for r in store.releases("ndc")] == [today]  # the release of a daily file: its download date
    ndc_rel = store.release("ndc", today)
    assert ndc_rel.manifest.source.downloads[0].url == ndc and ndc_rel.effective_from == dt.date.today()
    code, out, _ = run("lookup", "J1100", "--date", "2026-11-01")
    assert code == 0 and "Injection, dexamethasone sodium phosphate, 1 mg" in out and "2026-Q4" in out
    code, out, _ = run("lookup", "0002-8215-01", "--set", "ndc")
    assert code == 0 and "Humulin" in out


def test_fetch_the_shared_cms_file_with_url_and_sha256(run, site, monkeypatch, tmp_path, shared_dir):
    data = (shared_dir / "data/hcpcs/2020-Alpha-Numeric-HCPCS-File.zip").read_bytes()
    url = site.add("/files/zip/2020-alpha-numeric-hcpcs-file.zip", data)
    use_catalogue(monkeypatch, tmp_path, {})
    code, _, err = run("index", "fetch", "hcpcs", "--url", url, "--sha256", "0" * 64)
    assert code == 2 and "--sha256 expects" in err and nothing_left(tmp_path / "idx", "hcpcs")
    code, _, err = run("index", "fetch", "hcpcs", "--url", url, "--sha256", hashlib.sha256(data).hexdigest())
    assert code == 0, err
    assert "HCPCS Level II 2020 (annual) [hcpcs/2020]: 7,079 records" in err  # label from the file's name
    code, out, _ = run("lookup", "C9035", "--set", "hcpcs", "--date", "2020-02-01")
    assert "terminated 2019-09-30" in out


# -- failures: nothing half-imported, and a message that says what to do ------------------------
def test_404_is_a_clear_error_and_installs_nothing(run, site, monkeypatch, tmp_path):
    sets = {"icd10cm": icd10cm_catalogue(site)}
    sets["icd10cm"]["releases"][1]["files"][0]["url"] = site.url("/ICD10CM/2027/moved.zip")
    sets["icd10cm"]["releases"][1]["files"][0]["unverified"] = True
    use_catalogue(monkeypatch, tmp_path, sets)
    code, _, err = run("index", "fetch", "icd10cm", "--release", "FY2027")
    assert code == 2
    assert f"{site.url('/ICD10CM/2027/moved.zip')}: HTTP 404 Not Found: the file is not (or no longer) at this address" in err
    assert "This catalogue address is unverified" in err and "pass --url URL" in err
    assert nothing_left(tmp_path / "idx", "icd10cm")
    assert site.hits["/ICD10CM/2027/icd10cm-table-and-index-2027.zip"] == 0  # stopped at the first required file


def test_an_optional_file_that_fails_is_skipped_with_a_warning(run, site, monkeypatch, tmp_path):
    sets = {"icd10cm": icd10cm_catalogue(site)}
    sets["icd10cm"]["releases"][1]["files"][1]["url"] = site.url("/nowhere.zip")
    use_catalogue(monkeypatch, tmp_path, sets)
    code, _, err = run("index", "fetch", "icd10cm", "--release", "FY2027")
    assert code == 0, err
    assert "warning: skipped the optional test file" in err and "HTTP 404" in err
    rel = IndexStore(tmp_path / "idx").release("icd10cm", "FY2027")
    assert [d.name for d in rel.manifest.source.downloads] == ["icd10cm-code-descriptions-2027.zip"]


def test_a_truncated_download_is_resumed_with_range(run, site, monkeypatch, tmp_path):
    sets = {"icd10cm": icd10cm_catalogue(site)}
    path = "/ICD10CM/2027/icd10cm-code-descriptions-2027.zip"
    site.modes[path] = "truncate-once"
    use_catalogue(monkeypatch, tmp_path, sets)
    code, _, err = run("index", "fetch", "icd10cm", "--release", "FY2027")
    assert code == 0, err
    assert "resumed after a broken connection (2 attempts)" in err
    half = len(site.files[path]) // 2
    ranges = [h.get("Range") for m, p, h in site.requests if p == path]
    assert ranges == [None, f"bytes={half}-"]
    assert [h.get("If-Range") for m, p, h in site.requests if p == path][1] == '"v1"'
    rel = IndexStore(tmp_path / "idx").release("icd10cm", "FY2027")
    assert rel.manifest.source.downloads[0].sha256 == hashlib.sha256(site.files[path]).hexdigest()


def test_a_download_that_keeps_breaking_gives_up_cleanly(run, site, monkeypatch, tmp_path):
    sets = {"icd10cm": icd10cm_catalogue(site)}
    path = "/ICD10CM/2027/icd10cm-code-descriptions-2027.zip"
    site.modes[path] = "truncate-always"
    use_catalogue(monkeypatch, tmp_path, sets)
    code, _, err = run("index", "fetch", "icd10cm", "--release", "FY2027", "--retries", "2")
    assert code == 2
    size = len(site.files[path])
    assert f"the connection closed after {size // 2:,} of {size:,} bytes (gave up after 3 attempts)" in err
    assert site.hits[path] == 3
    assert nothing_left(tmp_path / "idx", "icd10cm")


def test_a_changed_checksum_is_refused_until_accepted(run, site, monkeypatch, tmp_path):
    use_catalogue(monkeypatch, tmp_path, {"icd10cm": icd10cm_catalogue(site, fy2027_sha="ab" * 32)})
    code, _, err = run("index", "fetch", "icd10cm", "--release", "FY2027")
    assert code == 2
    assert "but the catalogue pins " + "ab" * 32 + ": the file changed upstream" in err
    assert "Nothing was imported" in err and "--accept-changed" in err
    assert nothing_left(tmp_path / "idx", "icd10cm")
    code, _, err = run("index", "fetch", "icd10cm", "--release", "FY2027", "--accept-changed")
    assert code == 0, err
    assert "but the catalogue pins " + "ab" * 32 + "; accepted with --accept-changed" in err
    actual = hashlib.sha256(site.files["/ICD10CM/2027/icd10cm-code-descriptions-2027.zip"]).hexdigest()
    assert IndexStore(tmp_path / "idx").release("icd10cm", "FY2027").manifest.source.downloads[0].sha256 == actual


def test_a_web_page_instead_of_the_zip_is_refused(run, site, monkeypatch, tmp_path):
    sets = {"icd10cm": icd10cm_catalogue(site)}
    site.files["/ICD10CM/2026/icd10cm-Code%20Descriptions-2026.zip"] = b"<!DOCTYPE html><html>We moved our files</html>"
    use_catalogue(monkeypatch, tmp_path, sets)
    code, _, err = run("index", "fetch", "icd10cm", "--release", "FY2026")
    assert code == 2 and "is not a zip archive (it starts with '<!DOCTYPE html>" in err
    assert nothing_left(tmp_path / "idx", "icd10cm")


def test_no_network_connection_refused(run, monkeypatch, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/files/zip/october-2026-alpha-numeric-hcpcs-file.zip"
    use_catalogue(monkeypatch, tmp_path, {"hcpcs": {"publisher": "CMS", "page": "", "releases": [
        {"label": "2026-Q4", "effective": "2026-10-01", "files": [file_entry(url)]}]}})
    code, _, err = run("index", "fetch", "hcpcs", "--timeout", "1", "--retries", "1")
    assert code == 2
    port = urlsplit(url).port
    assert f"cannot reach 127.0.0.1:{port}: connection refused; no network? behind a proxy, set HTTP_PROXY (gave up after 2 attempts)" in err
    assert nothing_left(tmp_path / "idx", "hcpcs")


def test_no_network_times_out_with_a_clear_message(run, monkeypatch, tmp_path):
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/cder/ndctext.zip"
        use_catalogue(monkeypatch, tmp_path, {})
        code, _, err = run("index", "fetch", "ndc", "--url", url, "--timeout", "0.3", "--retries", "1")
        # --retries 1: two connections were made (each waited for --timeout, as the message says).
        silent.setblocking(False)
        connections = []
        try:
            while True:
                connections.append(silent.accept()[0])
        except BlockingIOError:
            pass
        for conn in connections:
            conn.close()
    finally:
        silent.close()
    assert code == 2 and len(connections) == 2
    assert f"cannot reach 127.0.0.1:{urlsplit(url).port}: no answer within 0.3 s; no network? behind a proxy, set HTTP_PROXY (gave up after 2 attempts)" in err
    assert nothing_left(tmp_path / "idx", "ndc")


def test_usage_errors(run, monkeypatch, tmp_path):
    use_catalogue(monkeypatch, tmp_path, {})
    code, _, err = run("index", "fetch", "icd10cm", "hcpcs", "--url", "http://127.0.0.1:9/x.zip")
    assert code == 2 and "--url names one file, so it goes with one set only" in err
    code, _, err = run("index", "fetch", "icd10cm")
    assert code == 2 and "has no downloads for ICD-10-CM" in err
    code, _, err = run("index", "fetch", "cpt")
    assert code == 2 and "CPT is AMA copyright" in err
    with pytest.raises(SystemExit):
        cli.main(["index", "fetch", "icd10cm", "--release", "FY2027", "--latest"])


# -- proxies -------------------------------------------------------------------------------------
def test_http_proxy_from_the_environment_is_used(run, proxy, monkeypatch, tmp_path):
    # The catalogue's host has nothing listening: only the proxy can serve the file.
    origin = f"http://127.0.0.1:{closed_port()}"
    path = "/files/zip/october-2026-alpha-numeric-hcpcs-file.zip"
    proxy.add(path, hcpcs_zip(2026))
    use_catalogue(monkeypatch, tmp_path, {"hcpcs": {"publisher": "CMS", "page": "", "releases": [
        {"label": "2026-Q4", "effective": "2026-10-01", "files": [file_entry(origin + path)]}]}})
    monkeypatch.setenv("HTTP_PROXY", proxy.base)
    monkeypatch.setenv("HTTPS_PROXY", proxy.base)
    code, _, err = run("index", "fetch", "hcpcs", "--retries", "0")
    assert code == 0, err
    assert f"(through {proxy.base})" in err
    assert [(m, p) for m, p, _ in proxy.requests] == [("GET", origin + path)]
    assert IndexStore(tmp_path / "idx").release("hcpcs", "2026-Q4").manifest.source.url == origin + path


def test_https_goes_through_the_proxy_tunnel(run, proxy, monkeypatch, tmp_path):
    target = f"127.0.0.1:{closed_port()}"
    url = f"https://{target}/cder/ndctext.zip"
    use_catalogue(monkeypatch, tmp_path, {})
    monkeypatch.setenv("HTTPS_PROXY", proxy.base)
    code, _, err = run("index", "fetch", "ndc", "--url", url, "--retries", "0", "--timeout", "2")
    assert code == 2
    assert [(m, p) for m, p, _ in proxy.requests] == [("CONNECT", target)]
    assert f"cannot reach {target}: the proxy {proxy.base} refused the connection" in err
    assert f"check the proxy (HTTPS_PROXY={proxy.base})" in err


def test_no_proxy_bypasses_the_proxy(run, site, proxy, monkeypatch, tmp_path):
    url = site.add("/files/zip/october-2026-alpha-numeric-hcpcs-file.zip", hcpcs_zip(2026))
    use_catalogue(monkeypatch, tmp_path, {})
    monkeypatch.setenv("HTTP_PROXY", proxy.base)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    code, _, err = run("index", "fetch", "hcpcs", "--url", url)
    assert code == 0, err
    assert proxy.requests == [] and len(site.requests) == 1


# -- status --------------------------------------------------------------------------------------
def test_index_status_before_and_after_fetching(run, site, monkeypatch, tmp_path):
    use_catalogue(monkeypatch, tmp_path, {"icd10cm": icd10cm_catalogue(site)})
    code, out, _ = run("index", "status", "--json")
    (item,) = json.loads(out)["sets"]
    assert code == 0 and item["state"] == "missing" and item["command"] == "medcode index fetch icd10cm"
    assert item["official"] == "FY2027"  # the test's catalogue ends there (dates are real: FY2027 began 2026-10-01)
    run("index", "fetch", "icd10cm", "--release", "FY2026")
    code, out, _ = run("index", "status")
    assert re.search(r"\nICD-10-CM +stale +FY2026 +none +FY2027 \(not installed\)\n", out), out
    assert "FY2027 (in force since 2026-10-01) is not installed; FY2026 answers today (it ended 2026-09-30)" in out
    assert "→ medcode index fetch icd10cm" in out
    code, out, _ = run("index", "list")
    assert "stale: ICD-10-CM: FY2027 (in force since 2026-10-01) is not installed" in out
    run("index", "fetch", "icd10cm")
    code, out, _ = run("index", "status", "--json")
    (item,) = json.loads(out)["sets"]
    if dt.date.today() <= dt.date(2027, 9, 30):  # FY2027 in force
        assert item["state"] == "current" and item["in_force_today"] == "FY2027" and item["command"] is None
    assert item["installed"] == ["FY2026", "FY2027"] and item["official_installed"] is True


def test_a_name_that_does_not_resolve(run, monkeypatch, tmp_path):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no resolver is asked
    use_catalogue(monkeypatch, tmp_path, {})
    code, _, err = run("index", "fetch", "ndc", "--url", "https://www.accessdata.fda.gov/cder/ndctext.zip", "--retries", "0")
    assert code == 2
    assert "cannot reach www.accessdata.fda.gov: the name does not resolve (Name or service not known); no network? behind a proxy, set HTTPS_PROXY" in err


def test_manifests_without_download_fields_still_read():
    from medcode.index_builder.model import Manifest, Source

    old = {
        "format": 1, "set": "hcpcs", "release": "2020", "title": "t", "effective_from": None, "effective_to": None,
        "complete": True, "source": {"kind": "file", "name": "x", "version": None, "url": None, "files": []},
        "counts": {"records": 1}, "builder": "medcode-ls 0.1.0", "built_at": "2026-01-01T00:00:00+00:00", "files": {},
    }
    m = Manifest.from_json(old)
    assert m.source.downloaded_at is None and m.source.downloads == []
    # A release that was not fetched writes the same source keys as before.
    assert set(m.to_json()["source"]) == {"kind", "name", "version", "url", "files"}
    assert Source("file", "x").describe() == "x"
