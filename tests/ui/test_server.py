"""The web view's guard and escaping, over a real server and engine state written by hand."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from engine.executions import write_json
from engine.registry import Registry
from tests.ui.conftest import REPO, Served, fetch, serve

PIPELINE, EXECUTION = "demo-pipeline", "0abc12345678"
HOSTILE = '<script>alert("x")</script>'


def write_execution(root: Path) -> Path:
    """One failed execution whose failure reason and log hold markup."""
    folder = root / "executions" / PIPELINE / EXECUTION
    write_json(
        folder / "execution.json",
        {
            "PipelineName": PIPELINE,
            "PipelineExecutionId": EXECUTION,
            "PipelineExecutionStatus": "Failed",
            "CreationTime": "2026-01-02T03:04:05.000+00:00",
            "LastModifiedTime": "2026-01-02T03:04:15.000+00:00",
            "FailureReason": f"step Train failed: {HOSTILE}",
            "PipelineParameters": [{"Name": "Note", "Value": HOSTILE}],
        },
    )
    write_json(
        folder / "steps" / "Train" / "record.json",
        {
            "StepName": "Train",
            "StepType": "Training",
            "StepStatus": "Failed",
            "StartTime": "2026-01-02T03:04:05.000+00:00",
            "EndTime": "2026-01-02T03:04:15.000+00:00",
            "FailureReason": HOSTILE,
        },
    )
    (folder / "steps" / "Train" / "log.txt").write_text(f"line one\n{HOSTILE}\n")
    return folder


def register(root: Path, status: str = "PendingManualApproval") -> tuple[Registry, str]:
    registry = Registry(root / "registry.sqlite")
    arn = registry.register(
        "demo",
        model_data_url="s3://bucket/model.tar.gz",
        image="image",
        status=status,
        metrics={},
        drift_check_baselines={},
        inference_specification={},
        execution_id=EXECUTION,
    )
    return registry, arn


def test_pages_need_the_session_the_printed_token_opens(served: Served) -> None:
    code, body = fetch(None, served.url + "/")
    assert (code, body) == (
        403,
        "refused: no session: open the address with ?token=... that `python -m ui` printed",
    )
    assert fetch(None, served.url + "/?token=wrong")[0] == 403
    code, body = fetch(served.opener(), served.url + "/")
    assert code == 200 and "<h1>Pipelines</h1>" in body


def test_another_host_name_is_refused_even_with_the_token(served: Served) -> None:
    code, body = fetch(None, served.login_url(), headers={"Host": "attacker.example"})
    assert (code, body) == (
        403,
        "refused: Host 'attacker.example' is not this machine's loopback name",
    )


def test_names_logs_and_reasons_are_escaped(served: Served) -> None:
    write_execution(served.root)
    opener = served.opener()
    for path in (
        f"/executions/{PIPELINE}/{EXECUTION}",
        f"/executions/{PIPELINE}/{EXECUTION}/steps/Train",
        "/",
    ):
        code, body = fetch(opener, served.url + path)
        assert code == 200, path
        assert "<script>alert" not in body, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body, path
    code, body = fetch(opener, f"{served.url}/executions/{PIPELINE}/{EXECUTION}/steps/Train/log")
    assert code == 200
    assert (
        body == 'data: "line one\\n<script>alert(\\"x\\")</script>\\n"\n\nevent: end\ndata: {}\n\n'
    )


def test_paths_come_from_listings_never_from_the_request(served: Served) -> None:
    folder = write_execution(served.root)
    (served.build / "secret.txt").write_text("secret")
    opener = served.opener()
    quote = urllib.parse.quote
    for path in (
        f"/executions/{quote('../..', safe='')}",
        f"/executions/{PIPELINE}/{quote('../' + EXECUTION, safe='')}",
        f"/executions/{PIPELINE}/{EXECUTION}/steps/{quote('../../execution.json', safe='')}",
        f"/executions/{PIPELINE}/{EXECUTION}/steps/{quote('../Train', safe='')}/log",
        f"/bundles/{quote('..', safe='')}",
        f"/executions/{PIPELINE}/{EXECUTION}/steps/Nope",
    ):
        code, body = fetch(opener, served.url + path)
        assert code == 404, path  # the router's, or the page's "not among those listed here"
        assert "PipelineExecutionStatus" not in body and "Train" not in body, path
    code, body = fetch(opener, f"{served.url}/compare?a=../../secret.txt&b={PIPELINE}/{EXECUTION}")
    assert code == 200 and 'class="list compare"' not in body and "secret" not in body
    assert folder.is_dir()


def test_a_status_change_needs_the_token_itself_and_this_site(served: Served) -> None:
    registry, arn = register(served.root)
    opener = served.opener()
    url = served.url + "/models/status"

    def post(fields: dict[str, str], **headers: str) -> tuple[int, str]:
        data = urllib.parse.urlencode(fields).encode()
        return fetch(opener, url, data=data, method="POST", headers=headers)

    approve = {"arn": arn, "status": "Approved"}
    assert post(approve) == (403, "refused: this request does not carry the token")
    assert post({**approve, "token": "wrong"})[0] == 403
    with_token = {**approve, "token": served.guard.token}
    cross = "refused: a cross-site request cannot change anything here"
    assert post(with_token, Origin="http://attacker.example") == (403, cross)
    assert post(with_token, **{"Sec-Fetch-Site": "cross-site"}) == (403, cross)
    assert post(with_token, **{"Sec-Fetch-Site": "same-site"}) == (403, cross)
    assert fetch(None, url, data=urllib.parse.urlencode(with_token).encode())[0] == 403
    assert registry.package(arn).status == "PendingManualApproval"  # type: ignore[union-attr]

    assert post({**with_token, "status": "Deleted"})[0] == 400
    assert post({**with_token, "arn": arn + "0"})[0] == 404
    code, body = post(with_token, Origin=served.url, **{"X-UI-Token": served.guard.token})
    assert code == 200 and "<h1>Model registry</h1>" in body  # redirected back to the list
    assert registry.package(arn).status == "Approved"  # type: ignore[union-attr]


def test_pages_load_nothing_from_elsewhere(served: Served) -> None:
    write_execution(served.root)
    opener = served.opener()
    for path in ("/", f"/executions/{PIPELINE}/{EXECUTION}", "/models", "/monitoring", "/diff"):
        with opener.open(served.url + path) as answer:
            body = answer.read().decode()
            policy = answer.headers["Content-Security-Policy"]
        assert "default-src 'none'; script-src 'self'; style-src 'self'" in policy
        links = re.findall(r'(?:src|href|action)="([^"]*)"', body)
        assert links and all(link.startswith("/") for link in links), (path, links)
    for asset in ("/static/ui.js", "/static/ui.css"):
        code, text = fetch(None, served.url + asset)  # no session needed: nothing private
        assert code == 200 and "http" not in text


def test_the_command_listens_on_loopback_and_prints_the_token(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "ui", "--build", str(tmp_path), "--root", str(tmp_path)]
    server = subprocess.Popen(
        [*command, "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.fullmatch(
            rf"serving {re.escape(str(tmp_path))} and {re.escape(str(tmp_path))} at "
            r"(http://127\.0\.0\.1:(\d+))/\?token=([\w-]{32})\n",
            line,
        )
        assert match, line
        jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        code, body = fetch(jar, f"{match[1]}/?token={match[3]}")
        assert code == 200 and "<h1>Pipelines</h1>" in body
        busy = subprocess.run(
            [*command, "--port", match[2]], cwd=REPO, capture_output=True, text=True, check=False
        )
        assert busy.returncode == 2
        assert busy.stderr.startswith(f"error: --host 127.0.0.1 --port {match[2]}\n  cannot listen")
        assert "fix: pass another --port (0 picks a free one)" in busy.stderr
    finally:
        server.terminate()
        server.wait(10)
        server.stdout.close()  # type: ignore[union-attr]


def test_the_diff_page_is_bundle_diffs_text(tmp_path: Path) -> None:
    pair = REPO / "tests" / "bundle" / "pairs" / "threshold"
    shutil.copytree(pair, tmp_path / "build")
    for served in serve(tmp_path / "build", tmp_path / "build" / "engine"):
        code, body = fetch(served.opener(), f"{served.url}/diff?a=a&b=b")
        assert code == 200
        block = body.split('<pre class="diff">')[1].split("</pre>")[0]
        shown = html.unescape(re.sub(r"<[^>]+>", "", block))
        build = served.build.resolve()
        expected = (pair / "expected.txt").read_text()
        expected = expected.replace("--- a\n", f"--- {build / 'a'}\n", 1)
        expected = expected.replace("+++ b\n", f"+++ {build / 'b'}\n", 1)
        assert shown == expected
        assert '<span class="line changed">  ~ ApproveThreshold' in body
        assert fetch(served.opener(), f"{served.url}/diff?a=a&b=..")[1].count("<pre") == 0


def test_a_steps_report_shows_its_violations(served: Served) -> None:
    folder = write_execution(served.root)
    uri = "s3://bucket/monitoring/report"
    violation = {
        "feature_name": "<b>flipper_length_mm</b>",
        "constraint_check_type": "baseline_drift_check",
        "description": "distance 0.4 exceeds 0.1",
    }
    write_json(
        served.root / "s3" / "bucket" / "monitoring" / "report" / "constraint_violations.json",
        {"violations": [violation]},
    )
    output = {"report": {"OutputName": "report", "S3Output": {"S3Uri": uri}}}
    write_json(
        folder / "steps" / "Monitor" / "record.json",
        {
            "StepName": "Monitor",
            "StepType": "Processing",
            "StepStatus": "Succeeded",
            "StartTime": "2026-01-02T03:04:05.000+00:00",
            "Properties": {"ProcessingOutputConfig": {"Outputs": output}},
        },
    )
    url = f"{served.url}/executions/{PIPELINE}/{EXECUTION}/steps/Monitor"
    code, body = fetch(served.opener(), url)
    assert code == 200
    assert f"<h3>{uri}/constraint_violations.json</h3>" in body
    row = (
        "<tr><td>&lt;b&gt;flipper_length_mm&lt;/b&gt;</td><td>baseline_drift_check</td>"
        "<td>distance 0.4 exceeds 0.1</td></tr>"
    )
    assert row in body
    assert f"<tr><td>report</td><td>{uri}</td></tr>" in body  # the step's outputs
