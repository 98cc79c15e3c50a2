"""A class on the course's JupyterHub: release, fetch, submit and collect through nbgrader's exchange, then grade.

The hub runs jupyterhub/jupyterhub_config.py on loopback, with the hub's SharedPasswordAuthenticator (one shared
password), SimpleLocalProcessSpawner (each user's Jupyter server is a local process; no system users)
and the pinned configurable-http-proxy from jupyterhub/node_modules. Everything goes the way a browser
would send it, over HTTP through the proxy, only with API tokens instead of cookies:

1. each user (instructor, alice, bob) gets an API token from the hub with their password, and starts
   their own Jupyter server through the hub's REST API;
2. the instructor releases `rnn` with the Formgrader's REST API in their server (its "Release" button),
   which runs nbgrader's release_assignment into the exchange;
3. each student fetches it with the Assignments REST API in their server (the "Fetch" button of
   JupyterLab's Assignments tab), edits it through Jupyter's contents API (alice pastes the solutions,
   bob hands it in blank) and submits it (the "Submit" button);
4. the instructor collects the submissions (the Formgrader's "Collect" button), and the course's
   hardened grader grades the collected folder: alice 7 of 7, bob 0.

The exchange, the hub's state, the homes and the instructor's copy of the course are temporary folders.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import requests

from autograder.solutions import answer_sources, with_answers
from helpers import BIN, ROOT, env, grade, results

HUB_DIR = ROOT / "jupyterhub"
CHP = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
NODE_MISSING = [tool for tool in ("node", "npm") if shutil.which(tool) is None and not (tool == "npm" and CHP.exists())]
pytestmark = [pytest.mark.hub,
              pytest.mark.skipif(bool(NODE_MISSING), reason=f"{' and '.join(NODE_MISSING)} not installed: the hub's "
                                 "proxy (configurable-http-proxy) runs on Node.js; install nodejs and npm")]
PASSWORD = "rnn-course-test-password"
COURSE_ID, ASSIGNMENT = "rnn-course", "rnn"
INSTRUCTOR, STUDENTS = "instructor", ("alice", "bob")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check, timeout: float, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    tail = log.read_text()[-4000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")


class Hub:
    def __init__(self, url: str, log: Path):
        self.url, self.log, self.tokens = url, log, {}

    def api(self, method: str, path: str, user: str | None = None, **kw):
        headers = {"Authorization": f"token {self.tokens[user]}"} if user else {}
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def ok(self, method: str, path: str, user: str | None = None, **kw):
        r = self.api(method, path, user, **kw)
        assert r.status_code < 300, f"{method} {path} as {user}: {r.status_code} {r.text[:2000]}"
        return r.json() if r.content else None


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    if not CHP.exists():   # `make test` installs it (Makefile: system-deps); a bare `pytest` does it here
        npm = subprocess.run(["npm", "ci", "--prefix", str(HUB_DIR), "--no-audit", "--no-fund"],
                             capture_output=True, text=True, timeout=300)
        assert npm.returncode == 0, npm.stdout + npm.stderr
    tmp = tmp_path_factory.mktemp("hub")
    state, exchange = tmp / "state", tmp / "exchange"
    course = state / "home" / INSTRUCTOR / "rnn-course"   # the instructor's clone of the course
    for part in ("solutions", "exercises"):
        shutil.copytree(ROOT / part / ASSIGNMENT, course / part / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    (course / "autograder").mkdir()
    port = _free_port()
    hub_env = {**env(), "RNNHUB_DIR": str(state), "RNNHUB_EXCHANGE": str(exchange), "RNNHUB_PASSWORD": PASSWORD,
               "RNNHUB_PORT": str(port), "RNNHUB_HUB_PORT": str(_free_port()),
               "RNNHUB_PROXY_API_PORT": str(_free_port()), "RNNHUB_INSTRUCTORS": INSTRUCTOR,
               "RNNHUB_STUDENTS": ",".join(STUDENTS)}
    hub_env.pop("JUPYTER_CONFIG_PATH", None)
    log = tmp / "hub.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(HUB_DIR / "jupyterhub_config.py")], cwd=tmp,
                                env=hub_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    h = Hub(f"http://127.0.0.1:{port}", log)
    h.state, h.exchange, h.course, h.tmp = state, exchange, course, tmp

    def up():
        assert proc.poll() is None, "the hub exited:\n" + log.read_text()[-4000:]
        try:
            return requests.get(h.url + "/hub/api/", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        _wait("the hub and its proxy", up, 60, log)
        yield h
    finally:
        proc.send_signal(signal.SIGTERM)   # the hub stops the users' servers and the proxy, then exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _solved(release: dict) -> dict:
    """The release notebook with the instructor's answers pasted into its answer cells."""
    answers = answer_sources(nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4))
    return with_answers(release, answers)


def test_a_term_on_the_hub(hub):
    """One test, so that `pytest -n auto` starts one hub, not one per worker."""
    users = (INSTRUCTOR, *STUDENTS)
    # 1. log in (password -> API token), start everyone's server through the hub
    wrong = hub.api("POST", "/hub/api/users/alice/tokens", json={"auth": {"username": "alice", "password": "nope"}})
    assert wrong.status_code == 403
    for user in users:
        hub.tokens[user] = hub.ok("POST", f"/hub/api/users/{user}/tokens",
                                  json={"auth": {"username": user, "password": PASSWORD}, "note": "test"})["token"]
    with ThreadPoolExecutor(len(users)) as pool:   # as three people pressing "Start My Server" at once
        list(pool.map(lambda user: hub.ok("POST", f"/hub/api/users/{user}/server", user), users))
    for user in users:
        _wait(f"{user}'s server", lambda: hub.ok("GET", f"/hub/api/users/{user}", user)["servers"].get("", {})
              .get("ready"), 120, hub.log)

    # 2. the instructor releases the assignment into the exchange (Formgrader -> Release)
    released = hub.ok("POST", f"/user/{INSTRUCTOR}/formgrader/api/assignment/{ASSIGNMENT}/release", INSTRUCTOR)
    assert released["success"], released
    assert (hub.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()

    # 3. each student sees it, fetches, edits and submits (JupyterLab's Assignments tab and editor)
    action = {"course_id": COURSE_ID, "assignment_id": ASSIGNMENT}
    for student in STUDENTS:
        base = f"/user/{student}"
        listing = hub.ok("GET", f"{base}/assignments", student, params={"course_id": COURSE_ID})
        assert listing["success"] and [a["status"] for a in listing["value"]
                                       if a["assignment_id"] == ASSIGNMENT] == ["released"], listing
        fetched = hub.ok("POST", f"{base}/assignments/fetch", student, params=action)
        assert fetched["success"], fetched
        path = f"{base}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        nb = hub.ok("GET", path, student, params={"content": 1})["content"]
        if student == "alice":
            hub.ok("PUT", path, student, json={"type": "notebook", "format": "json", "content": _solved(nb)})
        submitted = hub.ok("POST", f"{base}/assignments/submit", student, params=action)
        assert submitted["success"], submitted
    inbound = sorted(p.name.split("+")[0] for p in (hub.exchange / COURSE_ID / "inbound").iterdir())
    assert inbound == sorted(STUDENTS)

    # students have no Formgrader (server extension off, JupyterLab plugins off); the instructor has
    assert hub.api("GET", "/user/alice/formgrader/api/assignments", "alice").status_code == 404
    assert hub.api("GET", f"/user/{INSTRUCTOR}/formgrader/api/assignments", INSTRUCTOR).status_code == 200
    lab = hub.api("GET", "/user/alice/lab", "alice")
    assert lab.status_code == 200
    page = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', lab.text, re.S).group(1))
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= set(page["disabledExtensions"])

    # 4. the instructor collects (Formgrader -> Collect); the hardened grader grades the collected folder
    collected = hub.ok("POST", f"/user/{INSTRUCTOR}/formgrader/api/assignment/{ASSIGNMENT}/collect", INSTRUCTOR)
    assert collected["success"], collected
    folder = hub.course / "autograder" / "submitted"
    for student in STUDENTS:
        assert (folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    work = hub.tmp / "grader"
    graded = grade(folder, work)
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    reports = results(work)
    assert {s: r["score"] for s, r in reports.items()} == {"alice": 7, "bob": 0}, reports
    with open(work / "grades" / "grades.csv") as f:
        rows = {r["student_id"]: (float(r["score"]), float(r["max_score"])) for r in csv.DictReader(f)}
    assert rows == {"alice": (7.0, 7.0), "bob": (0.0, 7.0)}
