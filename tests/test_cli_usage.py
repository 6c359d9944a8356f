"""The command line's edges: every error exits 2 with one line saying what to do, a bug exits 3
without document text, options go before or after the verb, and the help covers everything."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from medcode.index_builder.model import CodeRecord, ImportResult, Source
from medcode.index_builder.writer import write_release
from medcode.server import cli


@pytest.fixture
def index(tmp_path):
    root = tmp_path / "idx"
    records = [CodeRecord("E119", "Type 2 diabetes mellitus without complications")]
    write_release(root, ImportResult("icd10cm", "R1", "icd10cm R1", None, None, Source("file", "x"), records))
    return root


def usage_error(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.main(list(args))
    assert exc.value.code == 2
    return capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- serve --tcp --------------------------------------------------------------------------------
# "²" is a digit to str.isdigit() that int() refuses (an internal error): no port.
@pytest.mark.parametrize("address", ["127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:http", "nowhere", "127.0.0.1:\u00b2"])
def test_serve_with_a_bad_port_is_a_usage_error(run, index, address):
    code, _, err = run("serve", "--tcp", address, index=index)
    assert code == 2 and "port from 1 to 65535" in one_line(err)



def test_a_port_in_other_digits_is_refused_before_serving():
    # int() reads full-width "８０" as 80: refused here, not served on (a test of `serve` would
    # wait on the port).
    assert "port from 1 to 65535" in cli._tcp_address("127.0.0.1:\uff18\uff10")

def test_serve_on_a_host_that_does_not_resolve(run, index):
    code, _, err = run("serve", "--tcp", "no-such-host.invalid:2087", index=index)
    assert code == 2 and "does not resolve" in one_line(err)


def test_serve_on_a_port_in_use(index):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        env = {**os.environ, "MEDCODE_INDEX_DIR": str(index)}
        done = subprocess.run(
            [sys.executable, "-m", "medcode.server", "serve", "--tcp", f"127.0.0.1:{port}"],
            capture_output=True, text=True, env=env, timeout=60,
        )
    finally:
        busy.close()
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in line


# -- index fetch --url --------------------------------------------------------------------------
def test_fetch_from_a_file_url_is_a_local_mirror(run, tmp_path, shared_dir):
    zip_path = shared_dir / "data/hcpcs/2020-Alpha-Numeric-HCPCS-File.zip"
    code, _, err = run("index", "fetch", "hcpcs", "--url", zip_path.as_uri(), "--retries", "0", index=tmp_path / "idx")
    assert code == 0, err
    assert "HCPCS Level II 2020 (annual) [hcpcs/2020]: 7,079 records from 1 download(s)" in err
    code, out, _ = run("lookup", "J1100", "--date", "2020-05-01")
    assert code == 0 and "dexamethasone" in out


def test_fetch_from_a_file_url_refuses_a_device(run, tmp_path):
    code, _, err = run("index", "fetch", "hcpcs", "--url", "file:///dev/zero", "--retries", "0", index=tmp_path / "idx")
    assert code == 2 and "is a character device, not a file" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "url, says",
    [
        ("not a url", "not a valid URL"),
        ("ftp//example.com/x.zip", "not a URL medcode can download"),
        ("https://", "names no host"),
        ("http://[::1/x.zip", "not a valid URL"),
        ("http://example.com:99999/x.zip", "not a valid URL"),
    ],
)
def test_fetch_with_a_malformed_url_says_so(run, tmp_path, url, says):
    code, _, err = run("index", "fetch", "hcpcs", "--url", url, "--retries", "0", index=tmp_path / "idx")
    assert code == 2 and says in one_line(err)


# -- arguments ----------------------------------------------------------------------------------
def test_an_index_dir_that_is_a_file(run, tmp_path):
    not_a_folder = tmp_path / "indexes"
    not_a_folder.write_text("oops\n")
    for args in (("lookup", "E11.9"), ("index", "list"), ("check", str(not_a_folder))):
        code, _, err = run("--index-dir", str(not_a_folder), *args)
        assert code == 2 and f"the index folder {not_a_folder} is a file" in one_line(err), args


def test_lookup_and_search_with_an_unknown_set(run, index):
    code, _, err = run("lookup", "E11.9", "--set", "foo", index=index)
    assert code == 2 and "--set foo: no such code set; use one of icd10cm" in one_line(err)
    code, _, err = run("search", "diabetes", "--set", "foo", index=index)
    assert code == 2 and "no such code set" in one_line(err)


def test_search_limit_must_be_at_least_1(capsys):
    err = usage_error(capsys, "search", "diabetes", "--limit", "0")
    assert "--limit: '0' is not a whole number of 1 or more" in err


def test_index_dir_goes_before_or_after_the_verb(run, index, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCODE_INDEX_DIR", str(tmp_path / "elsewhere"))
    for args in (
        ("--index-dir", str(index), "lookup", "E11.9"),
        ("lookup", "E11.9", "--index-dir", str(index)),
        ("lookup", "--index-dir", str(index), "E11.9"),
    ):
        code, out, _ = run(*args)
        assert code == 0 and "Type 2 diabetes" in out, args
    for args in (("index", "list", "--index-dir", str(index)), ("index", "--index-dir", str(index), "list")):
        code, out, _ = run(*args)
        assert code == 0 and "icd10cm" in out, args
    assert not (tmp_path / "elsewhere").exists()


# -- bugs ---------------------------------------------------------------------------------------
def test_a_bug_exits_3_with_a_short_line_and_no_document_text(run, index, tmp_path, monkeypatch):
    secret = "PATIENT DOE JOHN 1970-01-01"
    path = tmp_path / "claims.md"
    path.write_text(f"ICD-10-CM: E11.9 for {secret}\n")

    def broken(self, text, *args, **kwargs):
        raise ValueError(f"cannot handle {text!r}")  # a bug whose message quotes the document

    from medcode.server import analysis

    monkeypatch.setattr(analysis.DocumentChecker, "check", broken)
    code, out, err = run("check", str(path), index=index)
    assert code == 3
    line = one_line(err)
    assert line.startswith("medcode: internal error (ValueError") and "report" in line
    assert secret not in err and secret not in out


# -- help ---------------------------------------------------------------------------------------
def _parsers(parser: argparse.ArgumentParser, name: str = "medcode"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for verb, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {verb}")


def test_every_argument_has_help_text():
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in _parsers(cli._parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def test_top_level_help_names_every_verb(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for verb in ("index", "lookup", "search", "check", "serve", "build", "import", "list", "status", "fetch", "verify", "remove"):
        assert verb in out, verb


def test_check_help_lists_formats_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["check", "--help"])
    out = capsys.readouterr().out
    for kind in ("X12 837", "price-transparency CSV/JSON", "chargemaster CSV", "templates"):
        assert kind in out
    for status in ("0  no errors found", "1  at least one finding of severity error", "2  usage or input error", "3  internal error"):
        assert status in out
    assert "--max-size" in out and "--format" in out


def test_check_does_not_import_what_only_index_verbs_need(tmp_path, index):
    """`medcode check` imports neither the network modules (http.client, ssl, urllib) nor
    libcrypto (hashlib) or importlib.metadata: megabytes of a price file's 3x memory budget;
    nor the index builder and the release catalogue, which its start would wait for."""
    doc = tmp_path / "h_standardcharges.csv"
    doc.write_text(
        "hospital_name,last_updated_on,version\nH,2026-01-01,3.0.0\n"
        "description,code|1,code|1|type,setting,payer_name,plan_name\nVisit,E11.9,ICD,outpatient,P,Q\n"
    )
    probe = (
        "import sys\n"
        "from medcode.server import cli\n"
        f"code = cli.main(['check', {str(doc)!r}])\n"
        "heavy = ('http.client', 'ssl', 'urllib.request', '_hashlib', 'importlib.metadata', 'medcode.index_builder.build',\n"
        "         'medcode.index_builder.catalogue', 'medcode.index_builder.writer')\n"
        "print(code, sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ, "MEDCODE_INDEX_DIR": str(index)}, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr


def test_fetch_options_default_to_the_fetch_limits():
    from medcode.index_builder import fetch_limits

    args = cli._parser().parse_args(["index", "fetch", "hcpcs"])
    assert (args.timeout, args.retries) == (fetch_limits.TIMEOUT, fetch_limits.RETRIES)
