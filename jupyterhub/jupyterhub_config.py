"""JupyterHub for a class of the RNN course, on one machine, with nbgrader's exchange.

A demonstration and test configuration: a shared password (SharedPasswordAuthenticator) and every user's
Jupyter server started as the hub's own OS user (SimpleLocalProcessSpawner), so no system accounts
are needed. It is NOT safe for a real class: anyone who knows the password can log in as anyone, and
the users are not isolated from each other. instructors.md ("A class on JupyterHub") says what to
change for a real class. From the repository root:

    npm ci --prefix jupyterhub                     # the pinned configurable-http-proxy (make test does it)
    mkdir -p jupyterhub/state/home/instructor && git clone . jupyterhub/state/home/instructor/rnn-course
    RNNHUB_PASSWORD=choose-one .venv/bin/jupyterhub -f jupyterhub/jupyterhub_config.py

then open http://127.0.0.1:8000 and log in as `instructor`, `alice` or `bob` with that password.

Every setting below can be changed with an environment variable:

    RNNHUB_PASSWORD          the shared password, 8 characters or more (required)
    RNNHUB_DIR               hub state: database, cookie secret, users' homes, exchange (jupyterhub/state)
    RNNHUB_IP, RNNHUB_PORT   where the hub is served (127.0.0.1, 8000)
    RNNHUB_HUB_PORT          the hub's internal API port (8081)
    RNNHUB_PROXY_API_PORT    the proxy's REST API port (8001)
    RNNHUB_INSTRUCTORS       comma-separated user names who get the formgrader (instructor)
    RNNHUB_STUDENTS          comma-separated user names of the students (alice,bob)
    RNNHUB_EXCHANGE          nbgrader's exchange folder, shared by everyone (RNNHUB_DIR/exchange)
    RNNHUB_COURSE_ID         nbgrader's course id (rnn-course, as in the course's nbgrader_config.py)

Each user's server gets JUPYTER_CONFIG_PATH=jupyterhub/student or jupyterhub/instructor, the folder
holding that role's nbgrader_config.py (and, for students, the switches that hide the formgrader).
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
c = get_config()  # noqa: F821 - provided by traitlets when it loads this file


def _names(var: str, default: str) -> set[str]:
    return {n.strip() for n in os.environ.get(var, default).split(",") if n.strip()}


STATE = os.path.abspath(os.environ.get("RNNHUB_DIR", os.path.join(HERE, "state")))
EXCHANGE = os.path.abspath(os.environ.get("RNNHUB_EXCHANGE", os.path.join(STATE, "exchange")))
COURSE_ID = os.environ.get("RNNHUB_COURSE_ID", "rnn-course")
INSTRUCTORS = _names("RNNHUB_INSTRUCTORS", "instructor")
STUDENTS = _names("RNNHUB_STUDENTS", "alice,bob")
PASSWORD = os.environ.get("RNNHUB_PASSWORD", "")
if not PASSWORD:
    sys.exit("jupyterhub_config.py: set RNNHUB_PASSWORD (the shared password of this demonstration hub)")
os.makedirs(os.path.join(STATE, "home"), exist_ok=True)

# --- where the hub listens and keeps its state ------------------------------------------------------------------
c.JupyterHub.ip = os.environ.get("RNNHUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("RNNHUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("RNNHUB_HUB_PORT", "8081"))
c.JupyterHub.db_url = "sqlite:///" + os.path.join(STATE, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")

# --- the proxy: configurable-http-proxy from jupyterhub/node_modules (npm ci --prefix jupyterhub) ------------------
_chp = os.path.join(HERE, "node_modules", ".bin", "configurable-http-proxy")
c.ConfigurableHTTPProxy.command = [_chp if os.path.exists(_chp) else (shutil.which("configurable-http-proxy")
                                                                     or "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(os.environ.get('RNNHUB_PROXY_API_PORT', '8001'))}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE, "jupyterhub-proxy.pid")

# --- who may log in: one shared password (testing only: replace with a real authenticator for a class) ---------
# SharedPasswordAuthenticator is JupyterHub's successor of DummyAuthenticator(password=...): anyone with the
# password can log in as any allowed user. Nobody is a hub admin: nbgrader does not need it.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = PASSWORD
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
c.Authenticator.allow_all = False
c.JupyterHub.load_groups = {"instructors": {"users": sorted(INSTRUCTORS)}, "students": {"users": sorted(STUDENTS)}}

# --- each user's server: a local process of this Python, home in RNNHUB_DIR/home/<user> --------------------------
c.JupyterHub.spawner_class = "simple"            # jupyterhub.spawner.SimpleLocalProcessSpawner; testing only
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(STATE, "home", "{username}")
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
if os.geteuid() == 0:                            # a container or CI machine that runs everything as root
    c.Spawner.args = ["--ServerApp.allow_root=True"]


def pre_spawn_hook(spawner):
    """Give the server its role's nbgrader configuration and the exchange's location."""
    role = "instructor" if spawner.user.name in INSTRUCTORS else "student"
    spawner.environment = {
        **spawner.environment,
        "JUPYTER_CONFIG_PATH": os.path.join(HERE, role),
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),  # nbgrader in terminals
        "NBGRADER_EXCHANGE_ROOT": EXCHANGE,
        "NBGRADER_COURSE_ID": COURSE_ID,
    }


c.Spawner.pre_spawn_hook = pre_spawn_hook
