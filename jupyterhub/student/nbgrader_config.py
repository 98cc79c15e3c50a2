"""nbgrader settings of a student's server under the course's JupyterHub.

The hub puts this folder on the server's JUPYTER_CONFIG_PATH (jupyterhub_config.py). The student
only needs the exchange: where it is and which course to fetch from and submit to. Their assignments
are fetched into their home folder (the server's root), e.g. ~/rnn/rnn.ipynb.
"""
import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
c.CourseDirectory.course_id = os.environ.get("NBGRADER_COURSE_ID", "rnn-course")
# nbgrader names a submission after the OS user. Under SimpleLocalProcessSpawner every server runs as
# the hub's OS user, so name it after the hub user instead (with one OS account per student, or a
# container per student, this is the same name nbgrader would have used).
if os.environ.get("JUPYTERHUB_USER"):
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
