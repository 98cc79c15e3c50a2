"""nbgrader settings of an instructor's server under the course's JupyterHub.

The hub puts this folder on the server's JUPYTER_CONFIG_PATH (jupyterhub_config.py). The course
directory is a clone of the course repository in the instructor's home, ~/rnn-course (or
RNN_COURSE_DIR). Its own nbgrader_config.py (source = solutions/, release = exercises/, gradebook and
submissions under autograder/) is loaded first; then the exchange is pointed at the hub's shared
exchange folder, which the course's file would otherwise put under its own autograder/exchange.

Run nbgrader from your home folder (or use the Formgrader): the nbgrader_config.py of the folder you
run it from is read last, so running `nbgrader release_assignment` from inside ~/rnn-course would use
autograder/exchange again; there, add --Exchange.root="$NBGRADER_EXCHANGE_ROOT".
"""
import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

COURSE = os.path.abspath(os.path.expanduser(os.environ.get("RNN_COURSE_DIR", "~/rnn-course")))
if os.path.exists(os.path.join(COURSE, "nbgrader_config.py")):
    load_subconfig(os.path.join(COURSE, "nbgrader_config.py"))  # noqa: F821 - provided by traitlets
c.CourseDirectory.root = COURSE
c.CourseDirectory.course_id = os.environ.get("NBGRADER_COURSE_ID", "rnn-course")
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
